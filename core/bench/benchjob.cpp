#include "bench/benchjob.h"

#include <nlohmann/json.hpp>

#include "bench/optiontable.h"
#include "io/weights.h"
#include "model/kernels.h"
#include "util/blocklist.h"
#include "util/error.h"
#include "util/runtime.h"

namespace dilute::bench {

BenchJobResult runBench(const BenchJobOptions& opts, const JobObserver<BenchJobResult>& obs,
                        const CancelToken* cancel) {
    if (opts.model.empty()) throw Error("--model is required");
    validateOptions(benchJobOptionTable(), opts);
    if (!opts.vs.empty() && !opts.remove.empty()) throw Error("--vs and --remove: give one of the two");
    BenchJobResult r;
    r.options = opts;
    auto& o = r.options;
    o.bench.device = resolveDevice(o.bench.device);
    const auto oo = io::openOptionsOf(o);
    auto a = io::openModel(o.model, oo);
    model::VisionTransformer b{nullptr};
    if (!o.vs.empty()) {
        b = io::openModel(o.vs, oo);
        r.name_b = o.vs;
    } else if (!o.remove.empty()) {
        b = io::openModel(o.model, oo);
        b->removeAttention(parseBlockList(o.remove, b->depth()), true);
        r.name_b = o.model + " minus attention " + o.remove;
    }
    if (cancel) cancel->throwIfCancelled();
    if (obs.progress) obs.progress({"bench", 0, 1});
    if (b)
        std::tie(r.a, r.b) = benchPair(*a, o.model, *b, r.name_b, o.bench);
    else
        r.a = benchModel(*a, o.model, o.bench);
    r.cpu_kernels = o.bench.device == "cpu" && model::kernels::enabled();
    if (obs.progress) obs.progress({"bench", 1, 1});
    return r;
}

std::string benchJobToJson(const BenchJobResult& r) {
    const auto& o = r.options.bench;
    nlohmann::json j = {{"device", o.device},
                        {"batch", o.batch},
                        {"precision", r.a.precision},
                        {"a", nlohmann::json::parse(toJson(r.a))}};
    if (o.device == "cpu") j["cpu_kernels"] = r.cpu_kernels;
    if (r.compared()) {
        const auto &a = r.a, &b = r.b;
        j["b"] = nlohmann::json::parse(toJson(b));
        j["ratios"] = {{"params", double(b.params) / a.params},
                       {"gmac", b.gmac / a.gmac},
                       {"images_per_s", b.images_per_s / a.images_per_s},
                       {"latency_p50", b.latency_p50_ms / a.latency_p50_ms}};
        j["throughput_gain_vs_ideal"] = (b.images_per_s / a.images_per_s - 1) / (a.gmac / b.gmac - 1);
    }
    return j.dump(2);
}

const BenchJob& benchJob() {
    static const BenchJob job{"bench", "Measure parameters, GMAC, throughput, latency and memory", benchJobOptionTable,
                              runBench, benchJobToJson};
    return job;
}

}  // namespace dilute::bench
