#include "model/cost.h"

#include <algorithm>

namespace dilute::model {

ModelCost analyticCost(const ViTConfig& cfg, const std::vector<int>& removed) {
    const long long D = cfg.embed_dim, H = cfg.hiddenDim(), N = cfg.numTokens(), P = cfg.numPatches();
    const long long pp = static_cast<long long>(cfg.patch_size) * cfg.patch_size * cfg.in_chans;
    const double ln_macs = 5.0 * N * D;
    ModelCost c;
    c.embed_params = D * pp + D + D + N * D;  // conv weight+bias, cls_token, pos_embed
    c.head_params = 2 * D + D * cfg.num_classes + cfg.num_classes;  // final norm + head
    c.params = c.embed_params + c.head_params;
    c.macs = static_cast<double>(P) * D * pp + 5.0 * D /*final norm on CLS*/ + static_cast<double>(D) * cfg.num_classes;
    // fvcore runs the final LayerNorm on every token (timm applies it before taking CLS).
    c.macs += ln_macs - 5.0 * D;
    for (int i = 0; i < cfg.depth; ++i) {
        BlockCost b;
        const bool gone = std::find(removed.begin(), removed.end(), i) != removed.end();
        if (!gone) {
            b.attn_params = 2 * D + (D * 3 * D + 3 * D) + (D * D + D);
            b.attn_macs = ln_macs + static_cast<double>(N) * D * 3 * D + 2.0 * N * N * D + static_cast<double>(N) * D * D;
        }
        b.mlp_params = 2 * D + (D * H + H) + (H * D + D);
        b.mlp_macs = ln_macs + 2.0 * N * D * H;
        c.params += b.attn_params + b.mlp_params;
        c.macs += b.attn_macs + b.mlp_macs;
        c.blocks.push_back(b);
    }
    return c;
}

}  // namespace dilute::model
