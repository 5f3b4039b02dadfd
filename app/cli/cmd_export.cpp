// dilute export: remove the attention of blocks diluted to lambda 0, fold, write safetensors (+ TorchScript).
#include <cstdio>

#include "cli/commands.h"
#include "io/export.h"
#include "model/cost.h"
#include "io/weights.h"

namespace dilute::cli {

Runner addExport(CLI::App& app, Common&) {
    auto o = std::make_shared<io::ExportOptions>();
    app.add_option("input", o->input, "RUN_DIR (uses final.safetensors) or a safetensors file")->required();
    app.add_option("--out,-o", o->out, "Pruned model (.safetensors, timm keys + architecture metadata)")->required();
    app.add_option("--torchscript", o->torchscript, "Also write a TorchScript module (.pt) for torch.jit.load");
    app.add_flag("!--no-fold", o->fold, "Keep the x2 residual of removed blocks instead of folding it into weights");
    app.add_flag("--force", o->force, "Remove selected blocks even if their lambda is not 0 (changes the output)");
    app.add_option("--arch", o->arch, "Preset describing a timm file without Dilute metadata");
    return [o]() {
        auto r = io::exportPruned(*o);
        if (r.source.find("/checkpoints/") != std::string::npos)
            std::fprintf(stderr, "note: %s has no final.safetensors (the run did not finish): exported its last checkpoint, %s\n",
                         o->input.c_str(), r.source.c_str());
        auto m = io::openModel(o->out);
        const auto removed = m->removedBlocks();
        const auto full = model::analyticCost(m->config()), pruned = model::analyticCost(m->config(), removed);
        std::printf("source        %s\nwrote         %s%s\n", r.source.c_str(), o->out.c_str(), o->fold ? " (folded)" : "");
        if (!o->torchscript.empty()) std::printf("torchscript   %s (max |diff| vs pruned %.2e)\n", o->torchscript.c_str(), r.torchscript_max_abs_diff);
        std::printf("removed       ");
        for (int b : removed) std::printf("%d ", b);
        std::printf("\nparameters    %.3fM -> %.3fM (%.1f%% fewer)\nGMAC/image    %.4f -> %.4f (%.1f%% fewer)\n"
                    "check         max |logit diff| vs the diluted model %.2e\n",
                    full.params / 1e6, pruned.params / 1e6, 100.0 * (1 - double(pruned.params) / full.params), full.gmac(),
                    pruned.gmac(), 100.0 * (1 - pruned.macs / full.macs), r.max_abs_diff);
        return 0;
    };
}

}  // namespace dilute::cli
