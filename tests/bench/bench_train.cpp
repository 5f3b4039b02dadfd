// Training throughput on CPU (images/s, achieved GFLOP/s counting forward + backward as 3x
// forward) before and after the selected blocks reach lambda = 0.
// Run: build/tests/bench/bench_train [steps]
#include <chrono>
#include <cstdio>

#include "bench_common.h"
#include "model/cost.h"
#include "model/vit.h"
#include "util/runtime.h"

using namespace dilute;

int main(int argc, char** argv) {
    const int threads = dilute::setThreads(0);
    const int steps = argc > 1 ? std::atoi(argv[1]) : 10;
    std::printf("threads %d, fp32 matmul 1024^3: %.1f GFLOP/s\n", threads, benchutil::matmulGflops());
    std::printf("%-24s %5s %-14s %10s %9s\n", "model", "batch", "lambda", "images/s", "GFLOP/s");
    struct Case {
        const char* name;
        int batch;
        std::vector<int> blocks;
    };
    for (const auto& c : {Case{"vit_nano_patch7_28", 128, {1, 3}}, Case{"deit_tiny_patch16_224", 32, {0, 2, 4, 6}}}) {
        auto cfg = model::preset(c.name);
        for (double lam : {1.0, 0.0}) {
            auto m = model::buildModel(cfg);
            m->initWeights(0);
            m->train();
            for (int b : c.blocks) m->block(b)->setLambda(lam);
            torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-4));
            auto x = torch::randn({c.batch, cfg.in_chans, cfg.img_size, cfg.img_size});
            auto y = torch::randint(0, cfg.num_classes, {c.batch});
            auto step = [&] {
                opt.zero_grad();
                torch::cross_entropy_loss(m->forward(x), y).backward();
                opt.step();
            };
            const double s = benchutil::medianSeconds(step, steps);
            // Work actually done: at lambda 0 the selected attention is not computed.
            const auto cost = model::analyticCost(cfg, lam == 0.0 ? c.blocks : std::vector<int>{});
            const double ips = c.batch / s;
            std::string label = lam == 1.0 ? "1 (full)" : "0 on " + std::to_string(c.blocks.size()) + " blocks";
            std::printf("%-24s %5d %-14s %10.1f %9.1f\n", c.name, c.batch, label.c_str(), ips,
                        ips * 3 * 2 * cost.macs / 1e9);
        }
    }
    return 0;
}
