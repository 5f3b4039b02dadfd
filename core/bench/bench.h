#pragma once
// Measured cost of a model: parameters, GMAC, throughput (median of timed repeats after
// warm-up), batch-1 latency (p50 / p95) and peak memory. Two models are measured alternately
// in one process so machine noise hits both alike.
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
    double peak_mb = 0;         // CPU: peak RSS growth during the run; CUDA: max allocated
    double weights_mb = 0;
    std::vector<int> removed;
};

BenchResult benchModel(model::VisionTransformerImpl& m, const std::string& name, const BenchOptions& o);
/// A and B alternately, `rounds` times; each figure is the median over the rounds.
std::pair<BenchResult, BenchResult> benchPair(model::VisionTransformerImpl& a, const std::string& nameA,
                                              model::VisionTransformerImpl& b, const std::string& nameB,
                                              const BenchOptions& o);

}  // namespace dilute::bench
