// dilute info: architecture, parameters (per block, attention vs MLP), GMAC, removed blocks.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "io/summary.h"
#include "io/weights.h"
#include "model/cost.h"
#include "model/preset.h"

namespace dilute::cli {

namespace {

void listPresets() {
    for (const auto& n : model::presetNames()) {
        auto c = model::preset(n);
        auto cost = model::analyticCost(c);
        std::printf("%-26s %3dx%-3d %dch  D=%-4d depth=%-2d heads=%-2d  %6.2fM params %7.3f GMAC%s\n", n.c_str(),
                    c.img_size, c.img_size, c.in_chans, c.embed_dim, c.depth, c.num_heads, cost.params / 1e6,
                    cost.gmac(), c.default_data.empty() ? "" : ("  data: " + c.default_data).c_str());
    }
}

std::string infoJson(const std::string& spec, model::VisionTransformerImpl& m, const io::ModelOrigin& origin,
                     long long counted) {
    const auto& c = m.config();
    const auto removed = m.removedBlocks();
    const auto cost = model::analyticCost(c, removed);
    nlohmann::json j = {{"model", spec},
                        {"arch", c.name},
                        {"img_size", c.img_size},
                        {"patch_size", c.patch_size},
                        {"in_chans", c.in_chans},
                        {"num_classes", c.num_classes},
                        {"embed_dim", c.embed_dim},
                        {"depth", c.depth},
                        {"num_heads", c.num_heads},
                        {"mlp_ratio", c.mlp_ratio},
                        {"params", counted},
                        {"gmac", cost.gmac()},
                        {"removed_blocks", removed},
                        {"folded", m.folded()},
                        {"format", origin.format},
                        {"layout", origin.layout},
                        {"mapping", origin.mapping},
                        {"adapted", origin.adapted},
                        {"selection", origin.selection},
                        {"family", c.familyFlags()},
                        {"class_token", c.class_token},
                        {"reg_tokens", c.reg_tokens},
                        {"distilled", c.distilled},
                        {"no_embed_class", c.no_embed_class},
                        {"global_pool", c.global_pool},
                        {"fc_norm", c.fc_norm},
                        {"qkv_bias", c.qkv_bias},
                        {"qk_norm", c.qk_norm},
                        {"pre_norm", c.pre_norm},
                        {"init_values", c.init_values},
                        {"layer_scale", c.layerScale()},
                        {"norm_eps", c.norm_eps},
                        {"class_names", c.class_names},
                        {"mean", c.mean},
                        {"std", c.std},
                        {"eval_resize", c.eval_resize},
                        {"interpolation", c.interpolation}};
    for (int i = 0; i < c.depth; ++i)
        j["blocks"].push_back({{"index", i},
                               {"mode", model::blockModeName(m.block(i)->mode())},
                               {"attn_params", cost.blocks[i].attn_params},
                               {"mlp_params", cost.blocks[i].mlp_params},
                               {"attn_gmac", cost.blocks[i].attn_macs / 1e9},
                               {"mlp_gmac", cost.blocks[i].mlp_macs / 1e9}});
    return j.dump(2);
}

void printInfo(const std::string& spec, model::VisionTransformerImpl& m, const io::ModelOrigin& origin,
               long long counted) {
    const auto& c = m.config();
    const auto removed = m.removedBlocks();
    const auto cost = model::analyticCost(c, removed);
    std::printf(
        "model        %s\narchitecture %s: %dx%d x%d ch, patch %d, %d tokens, D=%d, depth %d, %d heads, "
        "MLP %d\nparameters   %lld (%.2fM)\nGMAC/image   %.4f\n",
        spec.c_str(), c.name.c_str(), c.img_size, c.img_size, c.in_chans, c.patch_size, c.numTokens(), c.embed_dim,
        c.depth, c.num_heads, c.hiddenDim(), counted, counted / 1e6, cost.gmac());
    for (const auto& [label, text] : io::modelSummary(c, origin))
        if (label != "architecture") std::printf("%-12s %s\n", label.c_str(), text.c_str());
    std::string rm;
    for (int b : removed) rm += std::to_string(b) + " ";
    std::printf("removed      %s%s\n", removed.empty() ? "none" : rm.c_str(),
                removed.empty() ? "" : (m.folded() ? "(doubling folded)" : "(doubling not folded)"));
    std::printf("\nblock  mode      attn params   MLP params   attn GMAC   MLP GMAC\n");
    for (int i = 0; i < c.depth; ++i) {
        const auto& b = cost.blocks[i];
        std::printf("%5d  %-8s %12lld %12lld %11.4f %10.4f\n", i, model::blockModeName(m.block(i)->mode()),
                    b.attn_params, b.mlp_params, b.attn_macs / 1e9, b.mlp_macs / 1e9);
    }
}

}  // namespace

Runner addInfo(CLI::App& app, Common& common) {
    struct Opts : io::ModelRef {
        bool list = false;
    };
    auto o = std::make_shared<Opts>();
    bindOptions(app, io::modelRefOptions<Opts>(), *o);
    app.add_flag("--list", o->list, "List the presets");
    app.add_flag("--json", common.json, "Print JSON instead of a table");
    return [o, &common]() {
        if (o->list || o->model.empty()) {
            listPresets();
            return 0;
        }
        io::ModelOrigin origin;
        auto m = io::openModel(o->model, io::openOptionsOf(*o), nullptr, nullptr, &origin);
        long long counted = 0;
        for (const auto& p : m->parameters()) counted += p.numel();
        if (common.json)
            std::cout << infoJson(o->model, *m, origin, counted) << "\n";
        else
            printInfo(o->model, *m, origin, counted);
        return 0;
    };
}

}  // namespace dilute::cli
