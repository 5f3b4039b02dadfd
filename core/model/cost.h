#pragma once
// Parameter and MAC counting. MACs are counted the fvcore way: one multiply-add per MAC for
// Linear and Conv layers, the two attention matmuls included, LayerNorm as 5 per element.
#include <string>
#include <vector>

#include "model/preset.h"

namespace dilute::model {

struct BlockCost {
    long long attn_params = 0;  // norm1 + qkv + proj (0 when removed)
    long long mlp_params = 0;   // norm2 + fc1 + fc2
    double attn_macs = 0;       // per image
    double mlp_macs = 0;
};

struct ModelCost {
    long long params = 0;
    double macs = 0;  // per image
    long long embed_params = 0, head_params = 0;
    std::vector<BlockCost> blocks;
    double gmac() const { return macs / 1e9; }
};

/// Analytic cost of `cfg` with the attention of `removed` blocks removed.
ModelCost analyticCost(const ViTConfig& cfg, const std::vector<int>& removed = {});

}  // namespace dilute::model
