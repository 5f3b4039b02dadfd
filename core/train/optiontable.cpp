#include "train/optiontable.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "io/weights.h"
#include "model/preset.h"
#include "train/job.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::train {

Recipe deriveRecipe(const std::string& model, const std::string& arch) {
    io::ModelRef ref;
    ref.model = model;
    ref.arch = arch;
    return deriveRecipe(ref);
}

Recipe deriveRecipe(const io::ModelRef& ref) {
    // A preset trains from scratch; anything opened (ours, timm's, a torch checkpoint, a Hugging
    // Face folder) is fine-tuned. The record is the one the run would build (--img-size applied).
    const bool fineTune = !model::isPreset(ref.model) || fs::exists(ref.model);
    model::ViTConfig c;
    bool known = false;
    try {
        c = io::describeModel(ref.model, io::openOptionsOf(ref));
        known = true;
    } catch (const std::exception&) {  // the run's own error will say what is wrong
    }
    Recipe r;
    if (!known) {
        r.name = "none";
        r.source = "architecture unknown: the options' own defaults";
        return r;
    }
    if (c.img_size >= 64) {
        r.batch = 64;
        r.weight_decay = 0.05;
        r.label_smoothing = 0.1;
        r.mixup = 0.8;
        r.cutmix = 1.0;
        r.drop_path = 0.1;
        r.warmup_epochs = 5;
        r.epochs = 30;
        if (!fineTune) {
            r.name = "deit-scratch";
            r.lr = 5e-4 * r.batch / 512.0;
            r.source =
                "DeiT from scratch: AdamW lr 5e-4 x global batch / 512, wd 0.05, 5 warm-up epochs, Mixup 0.8, "
                "CutMix 1.0, label smoothing 0.1, drop-path 0.1";
        } else {
            r.name = "deit-finetune";
            r.lr = 2e-3 * r.batch / 2048.0;
            r.source =
                "the paper's dilution fine-tuning (batch 2048, lr 2e-3): lr 2e-3 x global batch / 2048, wd 0.05, "
                "5 warm-up epochs, Mixup 0.8, CutMix 1.0, label smoothing 0.1, drop-path 0.1";
        }
    } else {
        r.batch = 128;
        r.weight_decay = 0.05;
        r.label_smoothing = 0.1;
        r.drop_path = 0.05;
        if (!fineTune) {
            r.name = "small-scratch";
            r.lr = 2e-3;
            r.epochs = 10;
            r.warmup_epochs = 1;
            r.source =
                "small presets (28/32 px) from scratch: lr 2e-3 x global batch / 128, 1 warm-up epoch, "
                "label smoothing 0.1, drop-path 0.05, no Mixup/CutMix";
        } else {
            r.name = "small-finetune";
            r.lr = 1e-3;
            r.epochs = 3;
            r.warmup_epochs = 0.2;
            r.source =
                "fine-tuning a small model: half the from-scratch lr (1e-3 x global batch / 128), "
                "0.2 warm-up epochs, label smoothing 0.1, drop-path 0.05";
        }
    }
    return r;
}

namespace {
void setRecipeField(TrainOptions& o, const Recipe& r, const std::string& name) {
    if (name == "epochs")
        o.epochs = r.epochs;
    else if (name == "batch")
        o.batch = r.batch;
    else if (name == "lr")
        o.lr = r.lr;
    else if (name == "warmup_epochs")
        o.warmup_epochs = r.warmup_epochs;
    else if (name == "weight_decay")
        o.weight_decay = r.weight_decay;
    else if (name == "label_smoothing")
        o.label_smoothing = r.label_smoothing;
    else if (name == "mixup")
        o.mixup = r.mixup;
    else if (name == "cutmix")
        o.cutmix = r.cutmix;
    else if (name == "drop_path")
        o.drop_path = r.drop_path;
    else
        throw Error("option '" + name + "' is marked recipe but no recipe sets it");
}
}  // namespace

void applyPresetDefaults(TrainOptions& o, const std::string& preset) {
    if (!model::isPreset(preset)) return;
    const auto r = deriveRecipe(preset);
    for (const auto& s : trainOptionTable())
        if (s.recipe) setRecipeField(o, r, s.name);
    o.recipe = r.name;
}

namespace {

template <class T>
std::function<OptionField(TrainOptions&)> f(T TrainOptions::*m) {
    return memberField(m);
}

// The option rows are laid out by hand, a row's fields packed on a few lines (the formatter
// would give every field a line of its own).
// clang-format off
constexpr double big = 1e12;  // "no upper bound" of a count

// What to train and where: the Project panel and the Training view's own fields hold these.
void addRun(std::vector<OptionSpec>& t) {
    auto add = [&](OptionSpec s) { t.push_back(std::move(s)); };
    for (auto& s : io::modelRefOptions<TrainOptions>()) add(std::move(s));
    add({"data", "--data,-d", "Data", "Dataset URI (default: the preset's own)", "Run", 0, 0, {}, false,
         "the Project panel's data", f(&TrainOptions::data)});
    add({"out_dir", "--out,-o", "Run folder", "Run folder (config.json, metrics.jsonl, checkpoints/, final.safetensors)",
         "Run", 0, 0, {}, false, "the Training view's run folder field (the next free name is proposed)",
         f(&TrainOptions::out_dir)});
    add({"select", "--select,-s", "Dilute blocks",
         "Blocks to dilute: 0,2,4 | nose:K | nose-abs:K | random:K | lowest:K | first:K | analysis.json", "Run", 0, 0,
         {}, false, "the selection made on the Analysis view", f(&TrainOptions::select)});
}

// The schedule: epochs, batch, learning rate and its warm-up.
void addSchedule(std::vector<OptionSpec>& t) {
    auto add = [&](OptionSpec s) { t.push_back(std::move(s)); };
    add({"epochs", "--epochs,-e", "Epochs", "Epochs (default by recipe)", "Schedule", 1, 100000, {}, true, "",
         f(&TrainOptions::epochs)});
    add({"batch", "--batch,-b", "Batch", "Batch size per process (default by recipe); global batch = batch x processes",
         "Schedule", 1, 65536, {}, true, "", f(&TrainOptions::batch)});
    add({"lr", "--lr", "Peak lr", "Peak learning rate, AdamW (default: the recipe's, scaled linearly with the global batch)", "Schedule", 1e-8, 10, {}, true, "",
         f(&TrainOptions::lr)});
    add({"min_lr", "--min-lr", "Final lr", "Final learning rate of the cosine schedule", "Schedule", 0, 10, {}, false, "",
         f(&TrainOptions::min_lr)});
    add({"warmup_epochs", "--warmup", "Warm-up epochs", "Linear warm-up, epochs (default by recipe)", "Schedule", 0, 100000,
         {}, true, "", f(&TrainOptions::warmup_epochs)});
}

// Dilution: lambda's decay and the calibration set of an on-the-spot selector.
void addDilution(std::vector<OptionSpec>& t) {
    auto add = [&](OptionSpec s) { t.push_back(std::move(s)); };
    add({"decay_shape", "--decay", "Lambda decay", "Lambda decay shape: linear | cosine", "Dilution", 0, 0,
         {"linear", "cosine"}, false, "", [](TrainOptions& o) -> OptionField { return &o.schedule.shape; }});
    add({"decay_unit", "--decay-unit", "Decay unit", "Unit of --decay-start/--decay-end: epochs | steps", "Dilution", 0,
         0, {"epochs", "steps"}, false, "", [](TrainOptions& o) -> OptionField { return &o.schedule.unit; }});
    add({"decay_start", "--decay-start", "Decay starts at", "Lambda stays 1 until here", "Dilution", 0, big, {}, false,
         "", [](TrainOptions& o) -> OptionField { return &o.schedule.start; }});
    add({"decay_end", "--decay-end", "Lambda = 0 at", "Lambda reaches 0 here (-1: 3/4 of the run)", "Dilution", -1, big,
         {}, false, "", [](TrainOptions& o) -> OptionField { return &o.schedule.end; }, "auto (3/4 of the run)"});
    add({"per_step", "!--per-epoch", "Lambda every step",
         "Update lambda at epoch boundaries only (the authors' code)",
         "Dilution", 0, 0, {}, false, "", [](TrainOptions& o) -> OptionField { return &o.schedule.per_step; }});
    add({"calib", "--calib", "Calibration images", "Calibration images for an on-the-spot selector", "Dilution", 1,
         10000000, {}, false, "the Analysis view selects the blocks (with its own calibration set)",
         f(&TrainOptions::calib)});
}

// The optimizer and the regularization (with their recipe defaults).
void addRegularization(std::vector<OptionSpec>& t) {
    auto add = [&](OptionSpec s) { t.push_back(std::move(s)); };
    add({"weight_decay", "--weight-decay", "Weight decay",
         "AdamW weight decay (not on norms, biases, pos_embed, cls_token)", "Optimizer", 0, 10, {}, true, "",
         f(&TrainOptions::weight_decay)});
    add({"clip_grad", "--clip-grad", "Clip gradient norm", "Max gradient norm (0 = off)", "Optimizer", 0, big, {}, false,
         "", f(&TrainOptions::clip_grad)});
    add({"label_smoothing", "--label-smoothing", "Label smoothing", "Label smoothing (default by recipe)", "Regularization",
         0, 0.999, {}, true, "", f(&TrainOptions::label_smoothing)});
    add({"mixup", "--mixup", "Mixup alpha", "Mixup alpha (0 = off)", "Regularization", 0, 100, {}, true, "",
         f(&TrainOptions::mixup)});
    add({"cutmix", "--cutmix", "CutMix alpha", "CutMix alpha (0 = off)", "Regularization", 0, 100, {}, true, "",
         f(&TrainOptions::cutmix)});
    add({"drop_path", "--drop-path", "Drop-path rate", "Stochastic depth rate (default by recipe)", "Regularization", 0,
         0.999, {}, true, "", f(&TrainOptions::drop_path)});
    add({"augment", "--augment", "Augmentation",
         "none | flip | rrc+flip | rrc+flip+erase (RandomErasing 0.25) | deit (rrc+flip, RandAugment "
         "rand-m9-mstd0.5-inc1, RandomErasing 0.25) | default (deit at 224 px, flip for the small presets)",
         "Regularization", 0, 0, {"default", "none", "flip", "rrc+flip", "rrc+flip+erase", "deit"}, false, "",
         f(&TrainOptions::augment)});
}

// Which images, the seed, and the machine: device, precision, threads, processes, stopping.
void addDataAndSystem(std::vector<OptionSpec>& t) {
    auto add = [&](OptionSpec s) { t.push_back(std::move(s)); };
    add({"train_limit", "--train-limit", "Training images", "Use only the first N training images (0 = all)", "Data", 0,
         big, {}, false, "", f(&TrainOptions::train_limit), "all"});
    add({"test_limit", "--test-limit", "Test images", "Evaluate on the first N test images (0 = all)", "Data", 0, big, {},
         false, "", f(&TrainOptions::test_limit), "all"});
    add({"seed", "--seed", "Seed", "Seed (data order, init, augmentation, drop-path)", "Data", 0, 4294967295.0, {},
         false, "", f(&TrainOptions::seed)});
    // System
    add({"device", "--device", "Device", "auto | cpu | cuda | cuda:N", "System", 0, 0, {}, false,
         "the Project panel's device", f(&TrainOptions::device)});
    add({"amp", "--amp", "Mixed precision", "auto | off | bf16 | fp16 (CUDA only)", "System", 0, 0,
         {"auto", "off", "bf16", "fp16"}, false, "", f(&TrainOptions::amp)});
    add({"workers", "--workers", "Loader threads", "Loader threads", "System", 0, 256, {}, false, "",
         f(&TrainOptions::workers)});
    add({"dist_timeout", "--dist-timeout", "Collective timeout (s)",
         "Seconds a data-parallel process waits for the others (rendezvous, collectives)", "System", 1, 86400, {}, false,
         "", f(&TrainOptions::dist_timeout)});
    add({"allow_shared_gpu", "--allow-shared-gpu", "Share GPUs",
         "Let more processes per node than GPUs share them (rank -> cuda:LOCAL_RANK % GPUs; Gloo, not NCCL)", "System",
         0, 0, {}, false, "the workbench trains in one process", f(&TrainOptions::allow_shared_gpu)});
    add({"overwrite", "--overwrite", "Overwrite", "Replace the run already in --out (it is removed first; never mixed)",
         "Run", 0, 0, {}, false, "the workbench never replaces a run: it proposes the next free folder",
         f(&TrainOptions::overwrite)});
    add({"stop_at_step", "--stop-at-step", "Stop at step",
         "Stop cleanly after this many global steps (checkpoint written); continue with --resume", "Run", -1, big, {},
         false, "for time-boxed cluster jobs; the workbench's Cancel stops at any step", f(&TrainOptions::stop_at_step), "never"});
}

std::vector<OptionSpec> build() {
    std::vector<OptionSpec> t;
    addRun(t);
    addSchedule(t);
    addDilution(t);
    addRegularization(t);
    addDataAndSystem(t);
    return t;
}
// clang-format on

}  // namespace

const std::vector<OptionSpec>& trainOptionTable() {
    static const std::vector<OptionSpec> table = build();
    return table;
}

// clang-format off
const std::vector<::dilute::OptionSpec<ResumeOptions>>& resumeOptionTable() {
    static const std::vector<::dilute::OptionSpec<ResumeOptions>> table = {
        {"run_dir", "--resume", "Run folder", "Continue RUN_DIR from its last checkpoint", "Run", 0, 0, {}, false, "",
         memberField(&ResumeOptions::run_dir)},
        {"stop_at_step", "--stop-at-step", "Stop at step",
         "Stop cleanly after this many global steps (checkpoint written)", "Run", -1, 9.0e15, {}, false, "",
         memberField(&ResumeOptions::stop_at_step), "never"},
    };
    return table;
}
// clang-format on

const OptionSpec* findTrainOption(const std::string& name) { return findOption(trainOptionTable(), name); }

Recipe applyRecipe(TrainOptions& o, const std::string& model, const std::function<bool(const OptionSpec&)>& given,
                   int world) {
    io::ModelRef ref = o;
    ref.model = model;
    const auto r = deriveRecipe(ref);
    if (r.name == "none") return r;
    for (const auto& s : trainOptionTable())
        if (s.recipe && !given(s) && s.name != "lr") setRecipeField(o, r, s.name);
    const auto* lr = findTrainOption("lr");
    if (!given(*lr)) o.lr = r.lr * double(o.batch) * std::max(1, world) / r.batch;  // linear in the global batch
    o.recipe = r.name;
    return r;
}

}  // namespace dilute::train
