#include "inspect/optiontable.h"

namespace dilute::inspect {

namespace {

template <class T>
std::function<OptionField(InspectOptions&)> f(T InspectOptions::*m) {
    return memberField(m);
}

// The option rows are laid out by hand, a row's fields packed on a few lines (the formatter
// would give every field a line of its own).
// clang-format off
std::vector<OptionSpec> build() {
    std::vector<OptionSpec> t;
    auto add = [&](OptionSpec s) { t.push_back(std::move(s)); };
    for (auto& s : io::modelRefOptions<InspectOptions>()) add(std::move(s));
    add({"vs", "--vs", "Compare with", "A second model (a run, a file, a preset): which images change prediction",
         "Images", 0, 0, {}, false, "", f(&InspectOptions::vs), "none"});
    add({"data", "--data,-d", "Data", "Dataset URI (default: the model's own)", "Images", 0, 0, {}, false,
         "the Project panel's data", f(&InspectOptions::data)});
    add({"split", "--split", "Split", "Split the images come from", "Images", 0, 0, {"train", "test", "val"}, false, "",
         f(&InspectOptions::split)});
    add({"images", "--images,-n", "Images", "Images: a class-stratified sample of the split (0: all of it)", "Images", 0,
         100000000, {}, false, "", f(&InspectOptions::images), "all"});
    add({"seed", "--seed", "Sample seed", "Seed of the stratified sample", "Images", 0, 18446744073709551615.0, {}, false,
         "", f(&InspectOptions::seed)});
    add({"input", "--input-tensor", "Input tensor",
         "Instead of a dataset: the tensor 'input' [N,C,H,W] of this safetensors file (already preprocessed)", "Images",
         0, 0, {}, false, "the CLI's (the view picks dataset images)", f(&InspectOptions::input)});
    add({"allow_nonfinite", "--allow-nonfinite", "Allow NaN input", "Run an input tensor holding NaN or Inf (warned about)",
         "Images", 0, 0, {}, false, "the CLI's, with --input-tensor", f(&InspectOptions::allow_nonfinite)});
    add({"overlays", "--overlays", "PNG overlays", "PNG overlays written for the first N images (0: none)", "Output", 0,
         100000, {}, false, "the CLI's (the view draws them)", f(&InspectOptions::overlays), "none"});
    add({"batch", "--batch,-b", "Batch", "Batch size", "System", 1, 65536, {}, false, "", f(&InspectOptions::batch)});
    add({"device", "--device", "Device", "auto | cpu | cuda | cuda:N", "System", 0, 0, {}, false,
         "the Project panel's device", f(&InspectOptions::device)});
    add({"workers", "--workers", "Loader threads", "Loader threads", "System", 0, 256, {}, false, "",
         f(&InspectOptions::workers)});
    add({"out_dir", "--out,-o", "Output folder", "Write inspect.json, inspect.safetensors and PNG overlays into this folder",
         "Output", 0, 0, {}, false, "the workbench writes the next free inspect folder beside the runs",
         f(&InspectOptions::out_dir)});
    return t;
}
// clang-format on

}  // namespace

const std::vector<OptionSpec>& inspectOptionTable() {
    static const std::vector<OptionSpec> table = build();
    return table;
}

}  // namespace dilute::inspect
