#include "eval/optiontable.h"

namespace dilute::eval {

namespace {

template <class T>
std::function<OptionField(EvalOptions&)> f(T EvalOptions::*m) {
    return memberField(m);
}

// The option rows are laid out by hand, a row's fields packed on a few lines (the formatter
// would give every field a line of its own).
// clang-format off
std::vector<OptionSpec> build() {
    const std::string tensor = "a fixed tensor's logits are the CLI's check against other implementations";
    std::vector<OptionSpec> t;
    auto add = [&](OptionSpec s) { t.push_back(std::move(s)); };
    for (auto& s : io::modelRefOptions<EvalOptions>()) add(std::move(s));
    add({"data", "--data,-d", "Data", "Dataset URI (default: the model's own, e.g. fashion-mnist)", "Images", 0, 0, {},
         false, "the Project panel's data", f(&EvalOptions::data), "the model's own"});
    add({"split", "--split", "Split", "Split to evaluate", "Images", 0, 0, {"train", "test", "val"}, false, "",
         f(&EvalOptions::split)});
    add({"limit", "--limit", "Images", "Evaluate only the first N images of the split (file order; 0: all)", "Images", 0,
         1e12, {}, false, "", f(&EvalOptions::limit), "all"});
    add({"input", "--input-tensor", "Input tensor",
         "Instead of a dataset: run the model on the tensor 'input' [B,C,H,W] of this safetensors file (already "
         "preprocessed), and write the logits to --logits-out",
         "Images", 0, 0, {}, false, tensor, f(&EvalOptions::input)});
    add({"logits_out", "--logits-out", "Logits file",
         "With --input-tensor: safetensors file for the logits (tensor 'logits', F32)", "Output", 0, 0, {}, false,
         tensor, f(&EvalOptions::logits_out)});
    add({"allow_nonfinite", "--allow-nonfinite", "Allow NaN input",
         "With --input-tensor: run an input holding NaN or Inf (warned about)", "Images", 0, 0, {}, false, tensor,
         f(&EvalOptions::allow_nonfinite)});
    add({"batch", "--batch,-b", "Batch", "Batch size", "System", 1, 65536, {}, false, "", f(&EvalOptions::batch)});
    add({"workers", "--workers", "Loader threads", "Loader threads", "System", 0, 256, {}, false, "",
         f(&EvalOptions::workers)});
    add({"device", "--device", "Device", "auto | cpu | cuda | cuda:N", "System", 0, 0, {}, false,
         "the Project panel's device", f(&EvalOptions::device)});
    return t;
}
// clang-format on

}  // namespace

const std::vector<OptionSpec>& evalOptionTable() {
    static const std::vector<OptionSpec> table = build();
    return table;
}

}  // namespace dilute::eval
