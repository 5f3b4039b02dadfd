// dilute info: architecture, parameters (per block, attention vs MLP), GMAC, removed blocks; or
// the presets. The job is core's (io/info.h), run by the CLI's generic adapter
// (cli/jobcommand.h); this prints its table.
#include <cstdio>

#include "cli/commands.h"
#include "io/info.h"
#include "io/summary.h"

namespace dilute::cli {

namespace {
void listPresets(const std::vector<std::string>& names) {
    for (const auto& n : names) {
        auto c = model::preset(n);
        auto cost = model::analyticCost(c);
        std::printf("%-26s %3dx%-3d %dch  D=%-4d depth=%-2d heads=%-2d  %6.2fM params %7.3f GMAC%s\n", n.c_str(),
                    c.img_size, c.img_size, c.in_chans, c.embed_dim, c.depth, c.num_heads, cost.params / 1e6,
                    cost.gmac(), c.default_data.empty() ? "" : ("  data: " + c.default_data).c_str());
    }
}
}  // namespace

void printInfo(const io::ModelInfo& r) {
    if (r.model.empty()) return listPresets(r.presets);
    const auto& c = r.config;
    std::printf(
        "model        %s\narchitecture %s: %dx%d x%d ch, patch %d, %d tokens, D=%d, depth %d, %d heads, "
        "MLP %d\nparameters   %lld (%.2fM)\nGMAC/image   %.4f\n",
        r.model.c_str(), c.name.c_str(), c.img_size, c.img_size, c.in_chans, c.patch_size, c.numTokens(), c.embed_dim,
        c.depth, c.num_heads, c.hiddenDim(), r.params, r.params / 1e6, r.cost.gmac());
    for (const auto& [label, text] : io::modelSummary(c, r.origin))
        if (label != "architecture") std::printf("%-12s %s\n", label.c_str(), text.c_str());
    std::string rm;
    for (int b : r.removed) rm += std::to_string(b) + " ";
    std::printf("removed      %s%s\n", r.removed.empty() ? "none" : rm.c_str(),
                r.removed.empty() ? "" : (r.folded ? "(doubling folded)" : "(doubling not folded)"));
    std::printf("\nblock  mode      attn params   MLP params   attn GMAC   MLP GMAC\n");
    for (size_t i = 0; i < r.modes.size(); ++i) {
        const auto& b = r.cost.blocks[i];
        std::printf("%5zu  %-8s %12lld %12lld %11.4f %10.4f\n", i, r.modes[i].c_str(), b.attn_params, b.mlp_params,
                    b.attn_macs / 1e9, b.mlp_macs / 1e9);
    }
}

}  // namespace dilute::cli
