#pragma once
// Small models for the analysis tests: random init stretched so that the blocks differ (a plain
// random init leaves them nearly linear), and random calibration images.
#include <torch/torch.h>

#include <vector>

#include "model/vit.h"

namespace dilute::testing {

inline model::VisionTransformer stretchedModel(uint64_t seed = 4, int depth = 5) {
    auto c = model::preset("vit_nano_patch7_28");
    c.depth = depth;
    auto m = model::buildModel(c);
    m->initWeights(seed);
    torch::NoGradGuard ng;
    for (auto& p : m->parameters())
        if (p.dim() == 2) p.mul_(8.0);
    m->eval();
    return m;
}

inline std::vector<torch::Tensor> randomImages(int batches, int bs = 16, uint64_t seed = 123) {
    torch::manual_seed(seed);
    std::vector<torch::Tensor> out;
    for (int i = 0; i < batches; ++i) out.push_back(torch::randn({bs, 1, 28, 28}));
    return out;
}

}  // namespace dilute::testing
