#include "analysis/optiontable.h"

#include "analysis/selectors.h"

namespace dilute::analysis {

namespace {

template <class T>
std::function<OptionField(AnalysisOptions&)> f(T AnalysisOptions::*m) {
    return memberField(m);
}

// The option rows are laid out by hand, a row's fields packed on a few lines (the formatter
// would give every field a line of its own).
// clang-format off
std::vector<OptionSpec> build() {
    std::vector<OptionSpec> t;
    auto add = [&](OptionSpec s) { t.push_back(std::move(s)); };
    for (auto& s : io::modelRefOptions<AnalysisOptions>()) add(std::move(s));
    add({"data", "--data,-d", "Data", "Dataset URI (default: the preset's own)", "Run", 0, 0, {}, false,
         "the Project panel's data", f(&AnalysisOptions::data)});
    // Selection
    add({"selector", "--selector", "Selector",
         "nose (greedy transfer entropy, the paper) | nose-abs | random (seeded) | lowest (attention entropy) | first",
         "Selection", 0, 0, selectorNames(), false, "", f(&AnalysisOptions::selector)});
    add({"k", "--k", "Blocks K", "Blocks to select (-1: a third of the depth)", "Selection", -1, 4096, {}, false, "",
         f(&AnalysisOptions::k), "auto (depth / 3)"});
    add({"pairwise", "--pairwise", "Pairwise T({i,j})", "Also compute the pairwise matrix T({i,j})", "Selection", 0, 0,
         {}, false, "", f(&AnalysisOptions::pairwise)});
    add({"seed", "--seed", "Seed", "Seed of the random selector", "Selection", 0, 18446744073709551615.0, {}, false, "",
         f(&AnalysisOptions::seed)});
    // Calibration
    add({"calib", "--calib", "Calibration images", "Calibration images taken from the split", "Calibration", 1,
         10000000, {}, false, "", f(&AnalysisOptions::calib)});
    add({"calib_order", "--calib-order", "Sample",
         "stratified: a seeded sample with every class alike | first: the first N in file order", "Calibration", 0, 0,
         {"stratified", "first"}, false, "", f(&AnalysisOptions::calib_order)});
    add({"calib_seed", "--calib-seed", "Sample seed", "Seed of the stratified calibration sample", "Calibration", 0,
         18446744073709551615.0, {}, false, "", f(&AnalysisOptions::calib_seed)});
    add({"split", "--split", "Split", "Split the calibration images come from", "Calibration", 0, 0, {"train", "test", "val"},
         false, "", f(&AnalysisOptions::split)});
    add({"output", "--output-entropy", "Output feature", "Output feature for H_out: cls | logits", "Calibration", 0, 0,
         {"cls", "logits"}, false, "", f(&AnalysisOptions::output)});
    // System
    add({"batch", "--batch,-b", "Batch", "Batch size", "System", 1, 65536, {}, false, "", f(&AnalysisOptions::batch)});
    add({"naive", "--naive", "Naive loop", "Reference loop without prefix caching (slower, same result)", "System", 0,
         0, {}, false, "", f(&AnalysisOptions::naive)});
    add({"device", "--device", "Device", "auto | cpu | cuda | cuda:N", "System", 0, 0, {}, false,
         "the Project panel's device", f(&AnalysisOptions::device)});
    add({"workers", "--workers", "Loader threads", "Loader threads", "System", 0, 256, {}, false, "",
         f(&AnalysisOptions::workers)});
    add({"out_dir", "--out,-o", "Output folder", "Write analysis.json and CSV tables into this folder", "Run", 0, 0, {},
         false, "the workbench writes the next free analysis folder beside the runs", f(&AnalysisOptions::out_dir)});
    return t;
}
// clang-format on

}  // namespace

const std::vector<OptionSpec>& analysisOptionTable() {
    static const std::vector<OptionSpec> table = build();
    return table;
}

}  // namespace dilute::analysis
