#pragma once
// The parts of a training step that are formulas, each a unit tested against its definition
// (tests/core/train/test_stepmath.cpp): the learning-rate schedule, Mixup/CutMix with soft targets,
// fp16 dynamic loss scaling, and the CUDA autocast scope.
#include <torch/torch.h>

#include <random>
#include <vector>

namespace dilute::train {

/// Linear warm-up, then half-cosine decay (timm's CosineLRScheduler per step, DeiT's recipe):
///   s <  W: lr * (s + 1) / W
///   s >= W: min_lr + (lr - min_lr) / 2 * (1 + cos(pi * min(1, (s - W) / (T - W))))
/// for step s (0-based) of T steps with W warm-up steps.
double lrAt(double lr, double minLr, long long step, long long total, long long warmup);

/// Label-smoothed one-hot targets: 1 - eps + eps/C on the label, eps/C elsewhere.
torch::Tensor smoothOneHot(const torch::Tensor& y, int classes, double smoothing, const torch::TensorOptions& opts);

struct MixOptions {
    double mixup = 0;      // Beta(a, a) for Mixup (0 = off)
    double cutmix = 0;     // Beta(a, a) for CutMix (0 = off)
    double smoothing = 0;  // label smoothing of the targets
};

struct Mixed {
    torch::Tensor target;  // soft targets [N, C]
    bool cutmix = false;
    double lambda = 1;                       // the weight of the batch's own images (CutMix: 1 - box area / image area)
    int64_t y1 = 0, y2 = 0, x1 = 0, x2 = 0;  // the CutMix box (rows y1..y2, columns x1..x2, exclusive ends)
};

/// timm's Mixup in "batch" mode: with both on, CutMix or Mixup with probability 1/2 each;
/// lambda ~ Beta(a, a); the partner of image i is image N-1-i (the batch reversed). Mixup:
/// x = lambda x + (1 - lambda) x_rev. CutMix: a box of side sqrt(1 - lambda) x (H, W) centred
/// uniformly, clipped to the image, pasted from x_rev; lambda corrected to 1 - area / (H W).
/// Targets: lambda t + (1 - lambda) t_rev of the smoothed one-hot targets. `x` is replaced.
Mixed mixBatch(torch::Tensor& x, const torch::Tensor& y, int classes, const MixOptions& m, std::mt19937_64& rng);

/// fp16 dynamic loss scaling, as torch.cuda.amp.GradScaler: the loss is multiplied by the
/// scale before backward; the gradients are divided by it before clipping and the step; a
/// non-finite gradient skips the step and multiplies the scale by `backoff`; `interval` finite
/// steps in a row multiply it by `growth`.
class LossScaler {
public:
    explicit LossScaler(double init = 65536.0, double growth = 2.0, double backoff = 0.5, long long interval = 2000)
        : scale_(init), growth_(growth), backoff_(backoff), interval_(interval) {}
    torch::Tensor scale(const torch::Tensor& loss) const { return loss * scale_; }
    /// Unscales the gradients of `params` in place and updates the scale. False when a gradient
    /// is not finite: the gradients are cleared, and the caller skips the optimizer step.
    bool unscaleAndUpdate(const std::vector<torch::Tensor>& params);
    double value() const { return scale_; }
    long long goodSteps() const { return good_; }

private:
    double scale_, growth_, backoff_;
    long long interval_, good_ = 0;
};

/// CUDA autocast to `dtype` for the scope (nothing when `on` is false).
class AutocastScope {
public:
    AutocastScope(torch::Dtype dtype, bool on);
    ~AutocastScope();
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    bool on_;
};

}  // namespace dilute::train
