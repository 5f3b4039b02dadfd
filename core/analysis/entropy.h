#pragma once
// Streaming Gaussian entropy of a feature (SPEC section 2): per-channel count, mean and M2 in
// float64, merged batch by batch with Chan's formula, so any batching gives the same result.
#include <torch/types.h>

#include <cstdint>

namespace dilute::analysis {

class GaussianEntropy {
public:
    static constexpr double kSigmaFloor = 1e-12;

    /// Adds samples: x is [..., C]; every leading index is one sample of the C channels.
    void add(const torch::Tensor& x);
    void merge(const GaussianEntropy& other);
    void reset();
    int64_t count() const { return n_; }
    int64_t channels() const { return mean_.defined() ? mean_.size(0) : 0; }
    /// Population variance per channel (float64, CPU).
    torch::Tensor variance() const;
    /// H = sum_c log(sigma_c) + C/2 log(2 pi e) over channels [begin, end) (end < 0: all), in nats.
    /// Channels with sigma below the floor are clamped and counted in *floored.
    double entropy(int64_t begin = 0, int64_t end = -1, int* floored = nullptr) const;

private:
    int64_t n_ = 0;
    torch::Tensor mean_, m2_;  // float64 [C]
};

}  // namespace dilute::analysis
