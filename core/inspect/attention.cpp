#include "inspect/attention.h"

#include <torch/torch.h>

#include "util/error.h"

namespace dilute::inspect {

torch::Tensor classTokenMaps(const torch::Tensor& A, int prefix) {
    const auto T = A.size(-1);
    return A.select(2, 0).narrow(-1, prefix, T - prefix);
}

torch::Tensor patchDistances(int grid, int patch) {
    auto idx = torch::arange(int64_t(grid) * grid, torch::kFloat64);
    auto row = torch::floor(idx / grid), col = idx - row * grid;
    auto dr = row.unsqueeze(1) - row.unsqueeze(0), dc = col.unsqueeze(1) - col.unsqueeze(0);
    return torch::sqrt(dr * dr + dc * dc) * double(patch);
}

torch::Tensor distanceSums(const torch::Tensor& A, int prefix, const torch::Tensor& d) {
    const auto P = d.size(0);
    auto patches = A.narrow(2, prefix, P).narrow(3, prefix, P).to(torch::kFloat64);  // [B,H,P,P]
    return (patches * d.to(A.device())).sum({0, 2, 3}).cpu();
}

torch::Tensor rollout(const std::vector<torch::Tensor>& A, const std::vector<double>& lambdas, int prefix,
                      bool classToken, int64_t B, int64_t T) {
    if (A.size() != lambdas.size()) throw Error("rollout: one lambda per block expected");
    torch::Device device = torch::kCPU;
    for (const auto& a : A)
        if (a.defined()) device = a.device();
    auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(device);
    const auto I = torch::eye(T, opts).expand({B, T, T});
    torch::Tensor R = I;
    for (size_t l = 0; l < A.size(); ++l) {
        if (!A[l].defined()) continue;  // removed: B_l = I
        const double lam = lambdas[l];
        auto Bl = ((2.0 - lam) * I + lam * A[l].to(torch::kFloat64).mean(1)) / 2.0;
        R = torch::bmm(Bl, R);
    }
    const auto P = T - prefix;
    if (classToken) return R.select(1, 0).narrow(-1, prefix, P);
    return R.narrow(1, prefix, P).narrow(2, prefix, P).mean(1);
}

}  // namespace dilute::inspect
