#pragma once
// Small helpers shared by the benchmark programs.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include "util/runtime.h"

namespace dilute::benchutil {

inline double seconds(const std::function<void()>& fn) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Median of `reps` timings of fn after one warm-up call.
inline double medianSeconds(const std::function<void()>& fn, int reps = 5) {
    fn();
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) t.push_back(seconds(fn));
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

/// The machine's fp32 matmul rate (GFLOP/s) on a large square matmul with every core, measured now.
inline double matmulGflops(int n = 1024) {
    torch::NoGradGuard ng;
    dilute::setBlasThreads(torch::get_num_threads());
    struct Restore {
        ~Restore() { dilute::setBlasThreads(1); }
    } restore;
    auto a = torch::randn({n, n}), b = torch::randn({n, n});
    const double s = medianSeconds([&] { (void)torch::mm(a, b); }, 5);
    return 2.0 * n * n * n / s / 1e9;
}

}  // namespace dilute::benchutil
