#include "train/stepmath.h"

#include <algorithm>
#include <cmath>

#include "util/torchcompat.h"

namespace dilute::train {

double lrAt(double lr, double minLr, long long step, long long total, long long warmup) {
    if (step < warmup) return lr * double(step + 1) / double(warmup);
    const double p = total > warmup ? double(step - warmup) / double(total - warmup) : 1.0;
    return minLr + 0.5 * (lr - minLr) * (1.0 + std::cos(M_PI * std::min(1.0, p)));
}

torch::Tensor smoothOneHot(const torch::Tensor& y, int classes, double smoothing, const torch::TensorOptions& opts) {
    auto t = torch::full({y.size(0), classes}, smoothing / classes, opts);
    t.scatter_(1, y.unsqueeze(1), 1.0 - smoothing + smoothing / classes);
    return t;
}

namespace {
double sampleBeta(std::mt19937_64& rng, double a) {
    std::gamma_distribution<double> g(a, 1.0);
    const double x = g(rng), y = g(rng);
    return x + y > 0 ? x / (x + y) : 0.5;
}
}  // namespace

Mixed mixBatch(torch::Tensor& x, const torch::Tensor& y, int classes, const MixOptions& m, std::mt19937_64& rng) {
    Mixed r;
    const auto onehot = smoothOneHot(y, classes, m.smoothing, x.options().dtype(torch::kFloat));
    const bool useMix = m.mixup > 0, useCut = m.cutmix > 0;
    if (!useMix && !useCut) {
        r.target = onehot;
        return r;
    }
    std::uniform_real_distribution<double> U(0, 1);
    r.cutmix = useCut && (!useMix || U(rng) < 0.5);
    r.lambda = sampleBeta(rng, r.cutmix ? m.cutmix : m.mixup);
    const auto xf = x.flip(0);
    if (r.cutmix) {
        const int64_t H = x.size(2), W = x.size(3);
        const double side = std::sqrt(1.0 - r.lambda);
        const int64_t ch = int64_t(H * side), cw = int64_t(W * side);
        const int64_t cy = int64_t(U(rng) * H), cx = int64_t(U(rng) * W);
        r.y1 = std::clamp<int64_t>(cy - ch / 2, 0, H), r.y2 = std::clamp<int64_t>(cy + ch / 2, 0, H);
        r.x1 = std::clamp<int64_t>(cx - cw / 2, 0, W), r.x2 = std::clamp<int64_t>(cx + cw / 2, 0, W);
        x = x.clone();
        using torch::indexing::Slice;
        const auto rows = Slice(r.y1, r.y2), cols = Slice(r.x1, r.x2);
        x.index_put_({Slice(), Slice(), rows, cols}, xf.index({Slice(), Slice(), rows, cols}));
        r.lambda = 1.0 - double((r.y2 - r.y1) * (r.x2 - r.x1)) / double(H * W);
    } else {
        x = x * r.lambda + xf * (1.0 - r.lambda);
    }
    r.target = onehot * r.lambda + onehot.flip(0) * (1.0 - r.lambda);
    return r;
}

bool LossScaler::unscaleAndUpdate(const std::vector<torch::Tensor>& params) {
    bool finite = true;
    for (const auto& p : params)
        if (p.grad().defined()) {
            p.grad().div_(scale_);
            finite = finite && torch::isfinite(p.grad()).all().item<bool>();
        }
    if (!finite) {
        scale_ *= backoff_;
        good_ = 0;
        for (auto p : params) p.mutable_grad() = torch::Tensor();
        return false;
    }
    if (++good_ == interval_) {
        scale_ *= growth_;
        good_ = 0;
    }
    return true;
}

AutocastScope::AutocastScope(torch::Dtype dt, bool on) : on_(on) {
    if (on_) compat::setCudaAutocast(dt, true);
}

AutocastScope::~AutocastScope() {
    if (on_) compat::setCudaAutocast(torch::kFloat, false);
}

}  // namespace dilute::train
