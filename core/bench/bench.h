#pragma once
// Measured cost of a model: parameters, GMAC, throughput (median of timed repeats after
// warm-up), batch-1 latency (p50 / p95) and memory: weights, and activations counted where
// LibTorch allocates them (CPU: bench/memory.h; CUDA: the caching allocator's statistics), so a
// model's figure is its own pass, not the process's history. Two models are measured
// alternately in one process so machine noise hits both alike.
#include <string>
#include <vector>

#include "bench/options.h"
#include "model/vit.h"

namespace dilute::bench {

struct BenchResult {
    std::string name;
    long long params = 0;
    double gmac = 0;
    double images_per_s = 0;
    double latency_p50_ms = 0, latency_p95_ms = 0;
    double weights_mb = 0;     // the parameters, 4 bytes each
    double activation_mb = 0;  // peak tensor memory of a throughput pass beyond what was live before it
    double peak_mb = 0;        // weights + activations: the tensor memory the model needs at this batch
    std::vector<int> removed;
    std::string precision;  // what the passes ran in: "fp32", "fp32 (TF32)", "bf16 autocast", "fp16 autocast"
};

/// The one JSON form of a result: name, params, gmac, images_per_s, latency_p50_ms,
/// latency_p95_ms, weights_mb, activation_mb, peak_mb, removed_blocks, precision.
std::string toJson(const BenchResult& r);

BenchResult benchModel(model::VisionTransformerImpl& m, const std::string& name, const BenchOptions& o);
/// A and B alternately, `rounds` times; each figure is the median over the rounds.
std::pair<BenchResult, BenchResult> benchPair(model::VisionTransformerImpl& a, const std::string& nameA,
                                              model::VisionTransformerImpl& b, const std::string& nameB,
                                              const BenchOptions& o);

}  // namespace dilute::bench
