#include "io/optiontable.h"

#include "io/info.h"

namespace dilute::io {

namespace {

// The option rows are laid out by hand, a row's fields packed on a few lines (the formatter
// would give every field a line of its own).
// clang-format off
std::vector<OptionSpec<ExportOptions>> build() {
    using O = ExportOptions;
    const std::string cli = "the Export view exports a run through the measure job (its ONNX and timm choices)";
    std::vector<OptionSpec<O>> t;
    auto add = [&](OptionSpec<O> s) { s.cliOnly = cli; t.push_back(std::move(s)); };
    for (auto& s : modelRefOptions<O>()) {
        if (s.name == "model") {  // also the first positional argument: `dilute export RUN_DIR -o ...`
            s.flags = "input," + s.flags;
            s.help = "RUN_DIR (uses final.safetensors) or any model file or folder";
        }
        add(std::move(s));
    }
    add({"out", "--out,-o", "Pruned model", "Pruned model (.safetensors, timm keys + architecture metadata)", "Export", 0,
         0, {}, false, "", memberField(&O::out)});
    add({"torchscript", "--torchscript", "TorchScript", "Also write a TorchScript module (.pt) for torch.jit.load",
         "Export", 0, 0, {}, false, "", memberField(&O::torchscript)});
    add({"onnx", "--onnx", "ONNX",
         "Also write an ONNX model (ONNX Runtime, TensorRT, OpenVINO, ...); without --out: the model as it is (full, "
         "diluted or pruned), blocks at lambda 0 removed", "Export", 0, 0, {}, false, "", memberField(&O::onnx)});
    add({"onnx_opset", "--onnx-opset", "ONNX opset", "17 (LayerNormalization) or 13 (LayerNorm from primitives)",
         "Export", 13, 17, {}, false, "", memberField(&O::onnx_opset)});
    add({"timm", "--timm", "timm folder",
         "Also write a timm hub folder (config.json + model.safetensors) with dilute_vit.py, which loads a pruned model "
         "in PyTorch (timm's own model when timm is installed)", "Export", 0, 0, {}, false, "", memberField(&O::timm)});
    add({"remove", "--remove", "Remove blocks",
         "With --onnx / --timm alone: also remove the attention of these blocks (e.g. 0,2,4,6), a what-if for "
         "deployment timing (changes the output)", "Export", 0, 0, {}, false, "", memberField(&O::remove)});
    add({"fold", "!--no-fold", "Fold", "Keep the x2 residual of removed blocks instead of folding it into weights",
         "Export", 0, 0, {}, false, "", memberField(&O::fold)});
    add({"force", "--force", "Force", "Remove selected blocks even if their lambda is not 0 (changes the output)",
         "Export", 0, 0, {}, false, "", memberField(&O::force)});
    return t;
}

std::vector<OptionSpec<InfoOptions>> buildInfo() {
    std::vector<OptionSpec<InfoOptions>> t = modelRefOptions<InfoOptions>();
    t.push_back({"list", "--list", "Presets", "List the presets", "Run", 0, 0, {}, false,
                 "the Project panel's model list holds the presets", memberField(&InfoOptions::list)});
    return t;
}
// clang-format on

}  // namespace

const std::vector<OptionSpec<InfoOptions>>& infoOptionTable() {
    static const std::vector<OptionSpec<InfoOptions>> table = buildInfo();
    return table;
}

const std::vector<OptionSpec<ExportOptions>>& exportOptionTable() {
    static const std::vector<OptionSpec<ExportOptions>> table = build();
    return table;
}

}  // namespace dilute::io
