// dilute export: remove the attention of blocks diluted to lambda 0, fold, write safetensors (+ TorchScript).
#include <cstdio>

#include "analysis/selectors.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "io/export.h"
#include "io/weights.h"
#include "model/cost.h"

namespace dilute::cli {

Runner addExport(CLI::App& app, Common&) {
    auto o = std::make_shared<io::ExportOptions>();
    bindOptions(app, io::modelRefOptions<io::ExportOptions>(), *o);
    app.add_option("input", o->model,
                   "RUN_DIR (uses final.safetensors) or any model file or folder (the same as --model)");
    app.add_option("--out,-o", o->out, "Pruned model (.safetensors, timm keys + architecture metadata)");
    app.add_option("--torchscript", o->torchscript, "Also write a TorchScript module (.pt) for torch.jit.load");
    app.add_option("--onnx", o->onnx,
                   "Also write an ONNX model (ONNX Runtime, TensorRT, OpenVINO, ...); without --out: the model as it "
                   "is (full, diluted or pruned), blocks at lambda 0 removed");
    app.add_option("--timm", o->timm,
                   "Also write a timm hub folder (config.json + model.safetensors) with dilute_vit.py, which loads "
                   "a pruned model in PyTorch (timm's own model when timm is installed)");
    auto remove = std::make_shared<std::string>();
    app.add_option("--remove", *remove,
                   "With --onnx / --timm alone: also remove the attention of these blocks (e.g. 0,2,4,6), a what-if "
                   "for deployment timing (changes the output)");
    app.add_option("--onnx-opset", o->onnx_opset, "17 (LayerNormalization) or 13 (LayerNorm from primitives)")
        ->check(CLI::IsMember({13, 17}))
        ->capture_default_str();
    app.add_flag("!--no-fold", o->fold, "Keep the x2 residual of removed blocks instead of folding it into weights");
    app.add_flag("--force", o->force, "Remove selected blocks even if their lambda is not 0 (changes the output)");
    return [o, remove]() {
        if (o->model.empty()) throw Error("export needs a model: RUN_DIR, a model file or folder (or --model)");
        if (!remove->empty())
            o->remove = analysis::parseBlockList(*remove, io::describeModel(o->model, io::openOptionsOf(*o)).depth);
        auto r = io::exportPruned(*o);
        if (o->out.empty()) {
            std::printf("source        %s\n", r.source.c_str());
            if (!o->onnx.empty())
                std::printf("onnx          %s (opset %d, %d nodes%s)\n", o->onnx.c_str(), o->onnx_opset, r.onnx_nodes,
                            r.onnx_external.empty() ? "" : (", weights in " + r.onnx_external).c_str());
            if (!o->timm.empty()) std::printf("timm folder   %s (load: dilute_vit.load(DIR))\n", o->timm.c_str());
            if (!r.removed.empty())
                std::printf("removed       the attention of %zu blocks (at lambda 0 or --remove)\n", r.removed.size());
            return 0;
        }
        if (r.source.find("/checkpoints/") != std::string::npos)
            std::fprintf(
                stderr,
                "note: %s has no final.safetensors (the run did not finish): exported its last checkpoint, %s\n",
                o->model.c_str(), r.source.c_str());
        auto m = io::openModel(o->out);
        const auto removed = m->removedBlocks();
        const auto full = model::analyticCost(m->config()), pruned = model::analyticCost(m->config(), removed);
        std::printf("source        %s\nwrote         %s%s\n", r.source.c_str(), o->out.c_str(),
                    o->fold ? " (folded)" : "");
        if (!o->torchscript.empty())
            std::printf("torchscript   %s (max |diff| vs pruned %.2e)\n", o->torchscript.c_str(),
                        r.torchscript_max_abs_diff);
        if (!o->onnx.empty())
            std::printf("onnx          %s (opset %d, %d nodes)\n", o->onnx.c_str(), o->onnx_opset, r.onnx_nodes);
        if (!o->timm.empty()) std::printf("timm folder   %s (load: dilute_vit.load(DIR))\n", o->timm.c_str());
        std::printf("removed       ");
        for (int b : removed) std::printf("%d ", b);
        std::printf(
            "\nparameters    %.3fM -> %.3fM (%.1f%% fewer)\nGMAC/image    %.4f -> %.4f (%.1f%% fewer)\n"
            "check         max |logit diff| vs the diluted model %.2e\n",
            full.params / 1e6, pruned.params / 1e6, 100.0 * (1 - double(pruned.params) / full.params), full.gmac(),
            pruned.gmac(), 100.0 * (1 - pruned.macs / full.macs), r.max_abs_diff);
        return 0;
    };
}

}  // namespace dilute::cli
