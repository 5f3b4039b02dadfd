// dilute info: architecture, parameters (per block, attention vs MLP), GMAC, removed blocks.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "io/weights.h"
#include "model/cost.h"
#include "model/preset.h"

namespace dilute::cli {

Runner addInfo(CLI::App& app, Common& common) {
    struct Opts {
        std::string model, arch, weights_key;
        int heads = 0;
        bool list = false;
    };
    auto o = std::make_shared<Opts>();
    app.add_option("--model,-m", o->model,
                   "Preset name, safetensors file, PyTorch .pth/.pt/.bin, or a timm hub / Hugging Face folder");
    app.add_option("--arch", o->arch, "Preset to start from for a file that carries no Dilute metadata");
    app.add_option("--weights-key", o->weights_key, "Checkpoint entry holding the weights (default: model, state_dict, model_ema ...)");
    app.add_option("--heads", o->heads, "Attention heads, for weights of a non-standard width without a config")->check(CLI::Range(1, 4096));
    app.add_flag("--list", o->list, "List the presets");
    app.add_flag("--json", common.json, "Print JSON instead of a table");
    return [o, &common]() {
        if (o->list || o->model.empty()) {
            for (const auto& n : model::presetNames()) {
                auto c = model::preset(n);
                auto cost = model::analyticCost(c);
                std::printf("%-26s %3dx%-3d %dch  D=%-4d depth=%-2d heads=%-2d  %6.2fM params %7.3f GMAC%s\n", n.c_str(),
                            c.img_size, c.img_size, c.in_chans, c.embed_dim, c.depth, c.num_heads, cost.params / 1e6,
                            cost.gmac(), c.default_data.empty() ? "" : ("  data: " + c.default_data).c_str());
            }
            return 0;
        }
        io::OpenOptions oo;
        oo.arch = o->arch;
        oo.weights_key = o->weights_key;
        oo.heads = o->heads;
        io::ModelOrigin origin;
        auto m = io::openModel(o->model, oo, nullptr, nullptr, &origin);
        const auto& c = m->config();
        const auto removed = m->removedBlocks();
        const auto cost = model::analyticCost(c, removed);
        long long counted = 0;
        for (const auto& p : m->parameters()) counted += p.numel();
        if (common.json) {
            nlohmann::json j = {{"model", o->model},      {"arch", c.name},          {"img_size", c.img_size},
                                {"patch_size", c.patch_size}, {"in_chans", c.in_chans}, {"num_classes", c.num_classes},
                                {"embed_dim", c.embed_dim}, {"depth", c.depth},      {"num_heads", c.num_heads},
                                {"mlp_ratio", c.mlp_ratio}, {"params", counted},     {"gmac", cost.gmac()},
                                {"removed_blocks", removed}, {"folded", m->folded()},
                                {"format", origin.format}, {"layout", origin.layout}, {"mapping", origin.mapping},
                                {"family", c.familyFlags()}, {"class_token", c.class_token}, {"reg_tokens", c.reg_tokens},
                                {"distilled", c.distilled}, {"no_embed_class", c.no_embed_class},
                                {"global_pool", c.global_pool}, {"fc_norm", c.fc_norm}, {"qkv_bias", c.qkv_bias},
                                {"qk_norm", c.qk_norm}, {"pre_norm", c.pre_norm}, {"init_values", c.init_values},
                                {"layer_scale", c.layerScale()}, {"norm_eps", c.norm_eps}, {"class_names", c.class_names},
                                {"mean", c.mean}, {"std", c.std}, {"eval_resize", c.eval_resize},
                                {"interpolation", c.interpolation}};
            for (int i = 0; i < c.depth; ++i)
                j["blocks"].push_back({{"index", i},
                                       {"mode", model::blockModeName(m->block(i)->mode())},
                                       {"attn_params", cost.blocks[i].attn_params},
                                       {"mlp_params", cost.blocks[i].mlp_params},
                                       {"attn_gmac", cost.blocks[i].attn_macs / 1e9},
                                       {"mlp_gmac", cost.blocks[i].mlp_macs / 1e9}});
            std::cout << j.dump(2) << "\n";
            return 0;
        }
        std::printf("model        %s\narchitecture %s: %dx%d x%d ch, patch %d, %d tokens, D=%d, depth %d, %d heads, "
                    "MLP %d\nclasses      %d\nparameters   %lld (%.2fM)\nGMAC/image   %.4f\n",
                    o->model.c_str(), c.name.c_str(), c.img_size, c.img_size, c.in_chans, c.patch_size, c.numTokens(),
                    c.embed_dim, c.depth, c.num_heads, c.hiddenDim(), c.num_classes, counted, counted / 1e6, cost.gmac());
        std::printf("format       %s (%s layout)\nfamily       %s\npreprocess   resize %d %s, crop %d, mean/std %zu "
                    "channels\n",
                    origin.format.c_str(), origin.layout.c_str(), c.familyFlags().c_str(), c.eval_resize,
                    c.interpolation.c_str(), c.img_size, c.mean.size());
        for (const auto& line : origin.mapping) std::printf("mapping      %s\n", line.c_str());
        if (!c.class_names.empty())
            std::printf("class names  %s, %s, ... (%zu)\n", c.class_names[0].c_str(),
                        c.class_names[std::min<size_t>(1, c.class_names.size() - 1)].c_str(), c.class_names.size());
        std::string rm;
        for (int b : removed) rm += std::to_string(b) + " ";
        std::printf("removed      %s%s\n", removed.empty() ? "none" : rm.c_str(),
                    removed.empty() ? "" : (m->folded() ? "(doubling folded)" : "(doubling not folded)"));
        std::printf("\nblock  mode      attn params   MLP params   attn GMAC   MLP GMAC\n");
        for (int i = 0; i < c.depth; ++i) {
            const auto& b = cost.blocks[i];
            std::printf("%5d  %-8s %12lld %12lld %11.4f %10.4f\n", i, model::blockModeName(m->block(i)->mode()),
                        b.attn_params, b.mlp_params, b.attn_macs / 1e9, b.mlp_macs / 1e9);
        }
        return 0;
    };
}

}  // namespace dilute::cli
