// Forward throughput of the ViT core, and achieved GFLOP/s against the machine's matmul rate.
// Run: build/tests/bench/bench_forward [threads]
#include <cstdio>

#include "bench_common.h"
#include "model/cost.h"
#include "model/vit.h"
#include "util/runtime.h"

using namespace dilute;

int main(int argc, char** argv) {
    const int threads = dilute::setThreads(argc > 1 ? std::atoi(argv[1]) : 0);
    const double peak = benchutil::matmulGflops();
    std::printf("threads %d, fp32 matmul 1024^3: %.1f GFLOP/s\n", threads, peak);
    std::printf("%-24s %6s %12s %10s %9s\n", "model", "batch", "images/s", "GFLOP/s", "of matmul");
    const std::pair<const char*, int> cases[] = {
        {"deit_tiny_patch16_224", 32}, {"vit_nano_patch7_28", 256}, {"vit_micro_patch7_28", 256}};
    for (const auto& [name, batch] : cases) {
        auto cfg = model::preset(name);
        auto m = model::buildModel(cfg);
        m->initWeights(0);
        m->eval();
        torch::NoGradGuard ng;
        auto x = torch::randn({batch, cfg.in_chans, cfg.img_size, cfg.img_size});
        const double s = benchutil::medianSeconds([&] { (void)m->forward(x); }, 5);
        const double ips = batch / s;
        const double gflops = ips * 2.0 * model::analyticCost(cfg).macs / 1e9;
        std::printf("%-24s %6d %12.1f %10.1f %8.0f%%\n", name, batch, ips, gflops, 100.0 * gflops / peak);
    }
    return 0;
}
