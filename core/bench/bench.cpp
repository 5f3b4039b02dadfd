#include "bench/bench.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "bench/memory.h"
#include "model/cost.h"
#include "util/error.h"
#include "util/runtime.h"
#include "util/torchcompat.h"

namespace dilute::bench {
namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    if (v.empty()) return 0;
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
    return v[i];
}

void sync(const std::string& device) {
    if (device == "cpu") return;
    const torch::Device d(device);
    torch::cuda::synchronize(d.has_index() ? d.index() : -1);  // the device measured, not the current one
}

double secondsOf(const std::function<void()>& fn, const std::string& device) {
    sync(device);
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    sync(device);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string toJson(const BenchResult& r) {
    const nlohmann::ordered_json j = {{"name", r.name},
                                      {"params", r.params},
                                      {"gmac", r.gmac},
                                      {"images_per_s", r.images_per_s},
                                      {"latency_p50_ms", r.latency_p50_ms},
                                      {"latency_p95_ms", r.latency_p95_ms},
                                      {"weights_mb", r.weights_mb},
                                      {"activation_mb", r.activation_mb},
                                      {"peak_mb", r.peak_mb},
                                      {"removed_blocks", r.removed},
                                      {"precision", r.precision}};
    return j.dump();
}

namespace {

// The precision the forward passes run in, for the scope: CUDA autocast to bf16 / fp16, or fp32.
class PrecisionScope {
public:
    explicit PrecisionScope(const BenchOptions& o) : autocast_(o.precision != "fp32") {
        if (autocast_ && o.device == "cpu")
            throw Error("--precision " + o.precision + ": mixed precision needs a CUDA device (CPU runs fp32)");
        if (autocast_) compat::setCudaAutocast(o.precision == "fp16" ? torch::kHalf : torch::kBFloat16, true);
        label_ = autocast_                                                            ? o.precision + " autocast"
                 : o.device != "cpu" && (compat::tf32CuBlas() || compat::tf32CuDnn()) ? "fp32 (TF32)"
                                                                                      : "fp32";
    }
    ~PrecisionScope() {
        if (autocast_) compat::setCudaAutocast(torch::kFloat, false);
    }
    PrecisionScope(const PrecisionScope&) = delete;
    PrecisionScope& operator=(const PrecisionScope&) = delete;
    const std::string& label() const { return label_; }

private:
    bool autocast_;
    std::string label_;
};

}  // namespace

BenchResult benchModel(model::VisionTransformerImpl& m, const std::string& name, const BenchOptions& o) {
    const PrecisionScope precision(o);
    m.eval();
    const torch::Device dev(o.device);
    {
        torch::NoGradGuard ng;
        m.to(dev);  // outside inference mode: the parameters stay usable for training afterwards
    }
    c10::InferenceMode inference;
    const auto& c = m.config();
    BenchResult r;
    r.name = name;
    r.removed = m.removedBlocks();
    r.precision = precision.label();
    for (const auto& p : m.parameters()) r.params += p.numel();
    r.weights_mb = r.params * 4.0 / (1 << 20);
    r.gmac = model::analyticCost(c, r.removed).gmac();
    auto x = torch::randn({o.batch, c.in_chans, c.img_size, c.img_size}).to(dev);
    auto x1 = torch::randn({1, c.in_chans, c.img_size, c.img_size}).to(dev);
    for (int i = 0; i < o.warmup; ++i) m.forward(x);
    // Activation memory of the throughput runs: the peak of the tensor bytes live during the
    // passes over those live before them (weights, inputs).
    TensorMemory::Scope counting;  // only for these passes: nothing after them pays for the counting
    const int64_t before = TensorMemory::liveBytes();
    TensorMemory::resetPeak();
    const int cudaIndex = dev.has_index() ? dev.index() : 0;
    compat::CudaMemory cudaBefore;
    if (o.device != "cpu") {
        compat::resetCudaPeak(cudaIndex);
        compat::cudaMemory(cudaIndex, cudaBefore);
    }
    std::vector<double> t;
    for (int i = 0; i < o.repeats; ++i) t.push_back(secondsOf([&] { m.forward(x); }, o.device));
    r.images_per_s = o.batch / median(t);
    r.activation_mb = std::max<int64_t>(0, TensorMemory::peakBytes() - before) / double(1 << 20);
    compat::CudaMemory cudaAfter;
    if (o.device != "cpu" && compat::cudaMemory(cudaIndex, cudaAfter))
        r.activation_mb = std::max<int64_t>(0, cudaAfter.peak - cudaBefore.current) / double(1 << 20);
    r.peak_mb = r.weights_mb + r.activation_mb;
    for (int i = 0; i < o.warmup; ++i) m.forward(x1);
    std::vector<double> lat;
    for (int i = 0; i < o.latency_runs; ++i) lat.push_back(1e3 * secondsOf([&] { m.forward(x1); }, o.device));
    r.latency_p50_ms = percentile(lat, 0.5);
    r.latency_p95_ms = percentile(lat, 0.95);
    return r;
}

std::pair<BenchResult, BenchResult> benchPair(model::VisionTransformerImpl& a, const std::string& nameA,
                                              model::VisionTransformerImpl& b, const std::string& nameB,
                                              const BenchOptions& o) {
    std::vector<BenchResult> ra, rb;
    BenchOptions per = o;
    for (int i = 0; i < std::max(1, o.rounds); ++i) {
        ra.push_back(benchModel(a, nameA, per));
        rb.push_back(benchModel(b, nameB, per));
    }
    auto combine = [](std::vector<BenchResult> v) {
        BenchResult r = v.front();
        auto med = [&](double BenchResult::*f) {
            std::vector<double> x;
            for (const auto& e : v) x.push_back(e.*f);
            return median(x);
        };
        r.images_per_s = med(&BenchResult::images_per_s);
        r.latency_p50_ms = med(&BenchResult::latency_p50_ms);
        r.latency_p95_ms = med(&BenchResult::latency_p95_ms);
        r.activation_mb = med(&BenchResult::activation_mb);
        r.peak_mb = med(&BenchResult::peak_mb);
        return r;
    };
    return {combine(ra), combine(rb)};
}

}  // namespace dilute::bench
