// Data-parallel training on one machine: 1 process x 2 threads against 2 processes x 1 thread
// (c10d/Gloo over 127.0.0.1), the same model, global batch and images, alternating A/B rounds.
// Prints steady-state img/s of each, their ratio, and the share of a 2-process step spent in
// the gradient allreduce. Run: build/tests/bench/bench_ddp [--model M] [--batch B] [--steps N]
//                                                          [--rounds R] [--cli PATH]
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "train/metrics.h"

namespace {

struct Figures {
    double images_per_s = 0, sync_share = 0, step_ms = 0;
};

// Steady state: the steps after the first 5 (thread pools, allocator and caches warm).
Figures read(const std::string& runDir, int batch) {
    Figures f;
    double t = 0, sync = 0, stepS = 0;
    long long n = 0, k = 0;
    for (const auto& e : dilute::train::readMetrics(runDir + "/metrics.jsonl")) {
        if (e.kind != dilute::train::MetricsEvent::Kind::Step || ++k <= 5) continue;
        if (e.step.images_per_s <= 0) continue;
        t += batch / e.step.images_per_s;
        sync += e.sync_seconds;
        stepS += e.step_seconds;
        ++n;
    }
    if (n && t > 0) {
        f.images_per_s = double(n) * batch / t;
        f.step_ms = 1000.0 * t / double(n);
    }
    if (stepS > 0) f.sync_share = sync / stepS;
    return f;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    std::string model = "vit_micro_patch7_28", cli = DILUTE_CLI;
    int batch = 128, steps = 40, rounds = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--model")
            model = v;
        else if (a == "--batch")
            batch = std::stoi(v);
        else if (a == "--steps")
            steps = std::stoi(v);
        else if (a == "--rounds")
            rounds = std::stoi(v);
        else if (a == "--cli")
            cli = v;
    }
    const auto dir = std::filesystem::temp_directory_path() / ("dilute-bench-ddp-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string common = " train -m " + model + " -e 1 --train-limit " + std::to_string(steps * batch) +
                               " --test-limit 256 --drop-path 0 --workers 1 --seed 1";
    std::vector<double> one, two, share, ms1, ms2;
    for (int r = 0; r < rounds; ++r) {
        const std::string a = (dir / ("one" + std::to_string(r))).string(),
                          b = (dir / ("two" + std::to_string(r))).string();
        const std::string ca =
            cli + common + " -b " + std::to_string(batch) + " --threads 2 -o " + a + " > /dev/null 2>&1";
        const std::string cb =
            cli + common + " -b " + std::to_string(batch / 2) + " --nproc 2 -o " + b + " > /dev/null 2>&1";
        if (std::system(ca.c_str()) != 0 || std::system(cb.c_str()) != 0) {
            std::fprintf(stderr, "bench_ddp: a training run failed (%s / %s)\n", ca.c_str(), cb.c_str());
            return 1;
        }
        const auto fa = read(a, batch), fb = read(b, batch);
        one.push_back(fa.images_per_s);
        two.push_back(fb.images_per_s);
        share.push_back(fb.sync_share);
        ms1.push_back(fa.step_ms);
        ms2.push_back(fb.step_ms);
        std::printf(
            "round %d: 1 proc x 2 threads %.0f img/s | 2 procs x 1 thread %.0f img/s | allreduce %.1f%% of the step\n",
            r + 1, fa.images_per_s, fb.images_per_s, 100 * fb.sync_share);
    }
    std::filesystem::remove_all(dir);
    const double m1 = median(one), m2 = median(two);
    std::printf("\n%s, global batch %d, %d steps, %u cores, medians of %d alternating rounds\n", model.c_str(), batch,
                steps, std::thread::hardware_concurrency(), rounds);
    std::printf("| setup | img/s | ms/step | allreduce share |\n|---|---|---|---|\n");
    std::printf("| 1 process x 2 threads | %.0f | %.1f | - |\n", m1, median(ms1));
    std::printf("| 2 processes x 1 thread (Gloo) | %.0f | %.1f | %.1f%% |\n", m2, median(ms2), 100 * median(share));
    std::printf("ratio 2x1 / 1x2: %.2f (target >= 0.9)\n", m1 > 0 ? m2 / m1 : 0.0);
    return 0;
}
