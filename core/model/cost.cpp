#include "model/cost.h"

#include <algorithm>

namespace dilute::model {

ModelCost analyticCost(const ViTConfig& cfg, const std::vector<int>& removed) {
    const long long D = cfg.embed_dim, H = cfg.hiddenDim(), N = cfg.numTokens(), P = cfg.numPatches();
    const long long pp = static_cast<long long>(cfg.patch_size) * cfg.patch_size * cfg.in_chans;
    const double ln_macs = 5.0 * N * D;
    ModelCost c;
    const long long heads = (cfg.distilled ? 2 : 1) * (cfg.hasHead() ? D * cfg.num_classes + cfg.num_classes : 0);
    // conv weight (+bias unless pre_norm), prefix tokens, pos_embed, norm_pre
    c.embed_params =
        D * pp + (cfg.pre_norm ? 0 : D) + cfg.numPrefix() * D + cfg.posTokens() * D + (cfg.pre_norm ? 2 * D : 0);
    c.head_params = 2 * D + heads;  // final norm (or fc_norm) + head (+ head_dist)
    c.params = c.embed_params + c.head_params;
    c.macs = static_cast<double>(P) * D * pp + 5.0 * D /*final norm on CLS*/ + static_cast<double>(heads);
    // fvcore runs the final LayerNorm on every token (timm applies it before taking CLS).
    c.macs += ln_macs - 5.0 * D;
    for (int i = 0; i < cfg.depth; ++i) {
        BlockCost b;
        const bool gone = std::find(removed.begin(), removed.end(), i) != removed.end();
        if (!gone) {
            const long long hd = D / cfg.num_heads;
            b.attn_params = 2 * D + (D * 3 * D + (cfg.qkv_bias ? 3 * D : 0)) + (D * D + D) +
                            (cfg.qk_norm ? 4 * hd : 0) + (cfg.layerScale() ? D : 0);
            b.attn_macs =
                ln_macs + static_cast<double>(N) * D * 3 * D + 2.0 * N * N * D + static_cast<double>(N) * D * D;
        }
        b.mlp_params = 2 * D + (D * H + H) + (H * D + D) + (cfg.layerScale() ? D : 0);
        b.mlp_macs = ln_macs + 2.0 * N * D * H;
        c.params += b.attn_params + b.mlp_params;
        c.macs += b.attn_macs + b.mlp_macs;
        c.blocks.push_back(b);
    }
    return c;
}

}  // namespace dilute::model
