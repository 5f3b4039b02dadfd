#include "model/posembed.h"

#include <cmath>
#include <string>

#include "util/error.h"

namespace dilute::model {

torch::Tensor resamplePosEmbed(const torch::Tensor& pos, int grid, int prefix) {
    if (pos.dim() != 3 || pos.size(0) != 1 || prefix < 0 || pos.size(1) < prefix)
        throw Error("pos_embed: expected [1, tokens, dim] with " + std::to_string(prefix) + " prefix rows");
    const int64_t rows = pos.size(1) - prefix, D = pos.size(2);
    const auto old = static_cast<int64_t>(std::llround(std::sqrt(double(rows))));
    if (old * old != rows || old < 1)
        throw Error("pos_embed: " + std::to_string(rows) + " position rows after the " + std::to_string(prefix) +
                    " prefix rows are not a square grid");
    if (grid < 1) throw Error("pos_embed: grid " + std::to_string(grid) + " must be at least 1");
    if (old == grid) return pos;
    torch::NoGradGuard ng;
    namespace F = torch::nn::functional;
    auto g = pos.narrow(1, prefix, rows).to(torch::kFloat).reshape({1, old, old, D}).permute({0, 3, 1, 2});
    g = F::interpolate(g, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{grid, grid})
                              .mode(torch::kBicubic)
                              .align_corners(false)
                              .antialias(true));
    g = g.permute({0, 2, 3, 1}).reshape({1, int64_t(grid) * grid, D}).to(pos.scalar_type());
    return prefix ? torch::cat({pos.narrow(1, 0, prefix), g}, 1).contiguous() : g.contiguous();
}

}  // namespace dilute::model
