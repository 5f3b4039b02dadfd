#include "analysis/entropy.h"

#include <torch/torch.h>

#include <cmath>

#include "util/error.h"

namespace dilute::analysis {

void GaussianEntropy::add(const torch::Tensor& x) {
    if (!x.defined() || x.dim() < 1) throw Error("entropy: feature tensor must have a channel dimension");
    auto xb = x.detach().reshape({-1, x.size(-1)}).to(torch::kDouble);
    const int64_t nb = xb.size(0);
    if (nb == 0) return;
    auto mb = xb.mean(0);
    auto m2b = (xb - mb).pow(2).sum(0);
    if (n_ == 0) {
        n_ = nb;
        mean_ = mb.cpu();
        m2_ = m2b.cpu();
        return;
    }
    if (mb.size(0) != mean_.size(0)) throw Error("entropy: channel count changed between batches");
    GaussianEntropy other;
    other.n_ = nb;
    other.mean_ = mb.cpu();
    other.m2_ = m2b.cpu();
    merge(other);
}

void GaussianEntropy::merge(const GaussianEntropy& o) {
    if (o.n_ == 0) return;
    if (n_ == 0) {
        *this = o;
        return;
    }
    const double na = double(n_), nb = double(o.n_), n = na + nb;
    auto delta = o.mean_ - mean_;
    mean_ = mean_ + delta * (nb / n);
    m2_ = m2_ + o.m2_ + delta.pow(2) * (na * nb / n);
    n_ += o.n_;
}

void GaussianEntropy::reset() {
    n_ = 0;
    mean_ = torch::Tensor();
    m2_ = torch::Tensor();
}

torch::Tensor GaussianEntropy::variance() const {
    if (n_ == 0) throw Error("entropy: no samples");
    return m2_ / double(n_);
}

double GaussianEntropy::entropy(int64_t begin, int64_t end, int* floored) const {
    auto var = variance();
    if (end < 0) end = var.size(0);
    if (begin < 0 || begin > end || end > var.size(0)) throw Error("entropy: channel range out of bounds");
    auto v = var.slice(0, begin, end);
    auto sigma = v.sqrt();
    if (floored) *floored = static_cast<int>((sigma < kSigmaFloor).sum().item<int64_t>());
    const double c = 0.5 * std::log(2.0 * M_PI * M_E);
    return sigma.clamp_min(kSigmaFloor).log().sum().item<double>() + double(end - begin) * c;
}

}  // namespace dilute::analysis
