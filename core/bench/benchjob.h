#pragma once
// `dilute bench` in the one job shape (util/job.h): model A alone, or A and B measured
// alternately (B another model, or A minus the attention of some blocks).
#include <string>

#include "bench/bench.h"
#include "bench/options.h"
#include "util/job.h"

namespace dilute::bench {

struct BenchJobResult {
    BenchJobOptions options;  // as run: the device resolved
    std::string name_b;       // "" when A was measured alone
    BenchResult a, b;
    bool cpu_kernels = false;  // on the CPU: the whole-block kernels were used (model/kernels.h)
    bool compared() const { return !name_b.empty(); }
};

BenchJobResult runBench(const BenchJobOptions& o, const JobObserver<BenchJobResult>& obs = {},
                        const CancelToken* cancel = nullptr);
/// device, batch, a, and with B: b, the ratios B/A and the share of the ideal throughput gain.
std::string benchJobToJson(const BenchJobResult& r);

using BenchJob = Job<BenchJobOptions, BenchJobResult>;
const BenchJob& benchJob();

}  // namespace dilute::bench
