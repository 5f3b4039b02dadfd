// dilute export: remove the attention of blocks diluted to lambda 0, fold, write safetensors
// (+ TorchScript, ONNX, a timm folder). The job is core's (io/exportjob.h), run by the CLI's
// generic adapter (cli/jobcommand.h); this prints its summary.
#include <cstdio>

#include "cli/commands.h"
#include "io/export.h"

namespace dilute::cli {

void printExport(const io::ExportResult& r) {
    const auto& o = r.options;
    std::printf("source        %s\n", r.source.c_str());
    if (o.out.empty()) {
        if (!o.onnx.empty())
            std::printf("onnx          %s (opset %d, %d nodes%s)\n", o.onnx.c_str(), o.onnx_opset, r.onnx_nodes,
                        r.onnx_external.empty() ? "" : (", weights in " + r.onnx_external).c_str());
        if (!o.timm.empty()) std::printf("timm folder   %s (load: dilute_vit.load(DIR))\n", o.timm.c_str());
        if (!r.removed.empty())
            std::printf("removed       the attention of %zu blocks (at lambda 0 or --remove)\n", r.removed.size());
        return;
    }
    std::printf("wrote         %s%s\n", o.out.c_str(), o.fold ? " (folded)" : "");
    if (!o.torchscript.empty())
        std::printf("torchscript   %s (max |diff| vs pruned %.2e)\n", o.torchscript.c_str(),
                    r.torchscript_max_abs_diff);
    if (!o.onnx.empty())
        std::printf("onnx          %s (opset %d, %d nodes)\n", o.onnx.c_str(), o.onnx_opset, r.onnx_nodes);
    if (!o.timm.empty()) std::printf("timm folder   %s (load: dilute_vit.load(DIR))\n", o.timm.c_str());
    std::printf("removed       ");
    for (int b : r.pruned_blocks) std::printf("%d ", b);
    std::printf(
        "\nparameters    %.3fM -> %.3fM (%.1f%% fewer)\nGMAC/image    %.4f -> %.4f (%.1f%% fewer)\n"
        "check         max |logit diff| vs the diluted model %.2e\n",
        r.params_full / 1e6, r.params_pruned / 1e6, 100.0 * (1 - double(r.params_pruned) / r.params_full), r.gmac_full,
        r.gmac_pruned, 100.0 * (1 - r.gmac_pruned / r.gmac_full), r.max_abs_diff);
}

}  // namespace dilute::cli
