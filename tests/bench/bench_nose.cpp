// Greedy NOSE for K = 4 on the 12-block Fashion-MNIST preset with 2,048 calibration images:
// prefix caching vs the naive loop (same choices, the ratio of their times).
// Run: build/tests/bench/bench_nose [calib] [k]
#include <chrono>
#include <cstdio>

#include "analysis/profile.h"
#include "analysis/selectors.h"
#include "analysis/transfer.h"
#include "model/vit.h"
#include "util/runtime.h"

using namespace dilute;

int main(int argc, char** argv) {
    const int threads = dilute::setThreads(0);
    const int calib = argc > 1 ? std::atoi(argv[1]) : 2048;
    const int k = argc > 2 ? std::atoi(argv[2]) : 4;
    auto cfg = model::preset("vit_micro_patch7_28");
    auto m = model::buildModel(cfg);
    m->initWeights(0);
    auto batches = analysis::loadCalibration(cfg, "fashion-mnist", "train", calib, 256, 1, "cpu");
    std::printf("%s (%d blocks), %d calibration images, K = %d, %d threads\n", cfg.name.c_str(), cfg.depth, calib, k,
                threads);
    double secs[2];
    std::vector<int> chosen[2];
    for (int naive = 0; naive < 2; ++naive) {
        analysis::TransferOptions o;
        o.cache = naive == 0;
        const auto t0 = std::chrono::steady_clock::now();
        analysis::TransferEntropy te(*m, batches, o);
        auto s = analysis::nose(te, k, false);
        secs[naive] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        chosen[naive] = s.blocks;
        std::printf("  %-16s %7.2f s  (%d evaluations)  chose", naive ? "naive loop" : "prefix caching", secs[naive],
                    te.evaluations());
        for (int b : s.blocks) std::printf(" %d", b);
        std::printf("\n");
    }
    std::printf("  cached / naive = %.2f (target <= 0.6); same choices: %s\n", secs[0] / secs[1],
                chosen[0] == chosen[1] ? "yes" : "NO");
    return 0;
}
