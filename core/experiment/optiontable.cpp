#include "experiment/optiontable.h"

namespace dilute::experiment {

namespace {

// The option rows are laid out by hand, a row's fields packed on a few lines (the formatter
// would give every field a line of its own).
// clang-format off
std::vector<OptionSpec<StudyOptions>> build() {
    using O = StudyOptions;
    std::vector<OptionSpec<O>> t;
    auto add = [&](OptionSpec<O> s) { t.push_back(std::move(s)); };
    for (auto& s : io::modelRefOptions<O>()) add(std::move(s));
    add({"data", "--data,-d", "Data", "Dataset URI (default: the model's own)", "Run", 0, 0, {}, false,
         "the Project panel's data", memberField(&O::data)});
    add({"out_dir", "--out,-o", "Study folder", "Folder for study.json, study.md, arms.csv, subsets.csv and finetune/",
         "Run", 0, 0, {}, false, "the Study view's folder field", memberField(&O::out_dir)});
    add({"overwrite", "--overwrite", "Replace", "Replace an earlier study in the folder", "Run", 0, 0, {}, false,
         "the Study view never replaces a study: it writes to the next free folder name beside it", memberField(&O::overwrite)});
    // Selection
    add({"k", "--k", "Blocks K", "Blocks to select (-1: a third of the depth)", "Selection", -1, 4096, {}, false, "",
         memberField(&O::k), "auto (depth / 3)"});
    add({"seeds", "--seeds", "Random seeds", "Random selections, seeds --seed .. --seed + S - 1", "Selection", 0, 1000, {},
         false, "", memberField(&O::seeds)});
    add({"seed", "--seed", "First seed", "First random seed; also every fine-tuning arm's seed", "Selection", 0,
         18446744073709551615.0, {}, false, "", memberField(&O::seed)});
    add({"exhaustive", "--exhaustive", "Exhaustive sweep",
         "Zero-shot top-1 and T(S) of every K-subset: auto (when C(L,K) <= the limit) | on | off", "Selection", 0, 0,
         {"auto", "on", "off"}, false, "", memberField(&O::exhaustive)});
    add({"exhaustive_limit", "--exhaustive-limit", "Sweep limit", "Largest C(L,K) the auto sweep runs", "Selection", 1,
         1e9, {}, false, "", memberField(&O::exhaustive_limit)});
    add({"max_subsets", "--max-subsets", "Sweep bound",
         "Largest sweep --exhaustive on runs; above it the study is refused with the count and the time estimate "
         "(0: 100000 subsets or an hour, whichever comes first)",
         "Selection", 0, 1e15, {}, false, "", memberField(&O::max_subsets), "auto (1e5 or an hour)"});
    // Calibration
    add({"calib", "--calib", "Calibration images", "Train images for T(S)", "Calibration", 1, 10000000, {}, false, "",
         memberField(&O::calib)});
    add({"calib_order", "--calib-order", "Sample",
         "stratified: a seeded sample with every class alike | first: the first N in file order", "Calibration", 0, 0,
         {"stratified", "first"}, false, "", memberField(&O::calib_order)});
    add({"calib_seed", "--calib-seed", "Sample seed", "Seed of the stratified calibration sample", "Calibration", 0,
         18446744073709551615.0, {}, false, "", memberField(&O::calib_seed)});
    add({"output", "--output-entropy", "Output feature", "Output feature for H_out: cls | logits", "Calibration", 0, 0,
         {"cls", "logits"}, false, "", memberField(&O::output)});
    // Accuracy
    add({"eval_split", "--eval-split", "Evaluation split", "Split for the zero-shot top-1", "Accuracy", 0, 0,
         {"test", "val", "train"}, false, "", memberField(&O::eval_split)});
    add({"eval_images", "--eval-images", "Evaluation images",
         "Images for the zero-shot top-1 (0: the whole split; fewer: a class-stratified sample)", "Accuracy", 0, 1e9, {},
         false, "", memberField(&O::eval_images)});
    add({"finetune_epochs", "--finetune-epochs", "Fine-tune epochs",
         "Dilution fine-tuning of every selector's blocks and of a control (0: zero-shot only)", "Fine-tuning", 0, 10000,
         {}, false, "", memberField(&O::finetune_epochs)});
    add({"finetune_batch", "--finetune-batch", "Fine-tune batch", "Batch of the fine-tuning runs (the recipe's lr scales with it)",
         "Fine-tuning", 1, 65536, {}, false, "", memberField(&O::finetune_batch)});
    add({"finetune_train_limit", "--finetune-train-limit", "Train images",
         "First N training images per fine-tuning epoch (0: all)", "Fine-tuning", 0, 1e12, {}, false, "",
         memberField(&O::finetune_train_limit), "all"});
    // System
    add({"batch", "--batch,-b", "Batch", "Batch size of the analysis and the evaluations", "System", 1, 65536, {}, false,
         "", memberField(&O::batch)});
    add({"device", "--device", "Device", "auto | cpu | cuda | cuda:N", "System", 0, 0, {}, false,
         "the Project panel's device", memberField(&O::device)});
    add({"workers", "--workers", "Loader threads", "Loader threads", "System", 0, 256, {}, false, "",
         memberField(&O::workers)});
    return t;
}

std::vector<OptionSpec<DemoOptions>> buildDemo() {
    using O = DemoOptions;
    const std::string cli = "the demo is a CLI command; the workbench opens the folder it writes";
    std::vector<OptionSpec<O>> t;
    auto add = [&](OptionSpec<O> s) { s.cliOnly = cli; t.push_back(std::move(s)); };
    add({"out_dir", "--out,-o", "Demo folder", "Demo folder (runs, analysis, pruned model, report.md)", "Run", 0, 0, {},
         false, "", memberField(&O::out_dir)});
    add({"quick", "--quick", "Quick", "Subset and short runs (under 3 minutes), as CI runs it", "Run", 0, 0, {}, false, "",
         memberField(&O::quick)});
    add({"compare", "--compare", "Compare", "Also dilute randomly chosen blocks and compare: random", "Run", 0, 0,
         {"random"}, false, "", memberField(&O::compare)});
    add({"preset", "--preset", "Preset", "Small preset to train", "Run", 0, 0, {}, false, "", memberField(&O::preset)});
    add({"data", "--data,-d", "Data", "Dataset URI", "Run", 0, 0, {}, false, "", memberField(&O::data)});
    add({"base_epochs", "--base-epochs", "Baseline epochs", "Epochs of the baseline trained from scratch", "Run", 1,
         100000, {}, false, "", memberField(&O::base_epochs)});
    add({"dilute_epochs", "--dilute-epochs", "Dilution epochs", "Epochs of dilution fine-tuning", "Run", 1, 100000, {},
         false, "", memberField(&O::dilute_epochs)});
    add({"calib", "--calib", "Calibration images", "Calibration images for NOSE", "Run", 1, 10000000, {}, false, "",
         memberField(&O::calib)});
    add({"seed", "--seed", "Seed", "Seed", "Run", 0, 18446744073709551615.0, {}, false, "", memberField(&O::seed)});
    add({"device", "--device", "Device", "auto | cpu | cuda | cuda:N", "Run", 0, 0, {}, false, "",
         memberField(&O::device)});
    add({"reuse_baseline", "!--retrain", "Reuse baseline", "Train the baseline again even if a matching one exists",
         "Run", 0, 0, {}, false, "", memberField(&O::reuse_baseline)});
    return t;
}
// clang-format on

}  // namespace

const std::vector<OptionSpec<DemoOptions>>& demoOptionTable() {
    static const std::vector<OptionSpec<DemoOptions>> table = buildDemo();
    return table;
}

const std::vector<OptionSpec<StudyOptions>>& studyOptionTable() {
    static const std::vector<OptionSpec<StudyOptions>> table = build();
    return table;
}

}  // namespace dilute::experiment
