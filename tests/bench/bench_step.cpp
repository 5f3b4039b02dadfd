// One model's training-step and forward throughput on a device, as JSON (packaging/gpu-check.sh
// puts it beside timm's in the same run: tests/gpu/compare_timm.py). A training step is forward
// + backward + AdamW on a fixed random batch, with autocast (bf16 | fp16 | off) on CUDA.
// Run: build/tests/bench/bench_step MODEL BATCH [DEVICE=cpu] [AMP=off] [STEPS=20]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "model/preset.h"
#include "model/vit.h"
#include "train/stepmath.h"
#include "util/runtime.h"

using namespace dilute;

namespace {
void sync(const std::string& device) {
    if (device != "cpu") torch::cuda::synchronize();
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: bench_step MODEL BATCH [DEVICE] [AMP] [STEPS]\n");
        return 2;
    }
    const std::string name = argv[1];
    const int batch = std::atoi(argv[2]);
    const std::string device = resolveDevice(argc > 3 ? argv[3] : "cpu");
    const std::string amp = argc > 4 ? argv[4] : "off";
    const int steps = argc > 5 ? std::atoi(argv[5]) : 20, warm = 5;
    dilute::setThreads(0);
    const auto cfg = model::preset(name);
    auto m = model::buildModel(cfg);
    m->initWeights(0);
    const torch::Device dev(device);
    m->to(dev);
    torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-4));
    auto x = torch::randn({batch, cfg.in_chans, cfg.img_size, cfg.img_size}).to(dev);
    auto y = torch::randint(0, cfg.num_classes, {batch}).to(dev);
    const bool on = amp != "off" && device != "cpu";
    auto run = [&](bool train) {
        m->train(train);
        std::chrono::steady_clock::time_point t0;
        for (int i = 0; i < warm + steps; ++i) {
            if (i == warm) {
                sync(device);
                t0 = std::chrono::steady_clock::now();
            }
            train::AutocastScope autocast(amp == "fp16" ? torch::kHalf : torch::kBFloat16, on);
            if (train) {
                opt.zero_grad();
                torch::cross_entropy_loss(m->forward(x).to(torch::kFloat), y).backward();
                opt.step();
            } else {
                torch::NoGradGuard ng;
                m->forward(x);
            }
        }
        sync(device);
        return batch * steps / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    const double trainRate = run(true), forwardRate = run(false);
    std::printf("{\"%s\": {\"batch\": %d, \"device\": \"%s\", \"amp\": \"%s\", \"fused_attention\": %s, "
                "\"train_img_s\": %.2f, \"forward_img_s\": %.2f}}\n",
                name.c_str(), batch, device.c_str(), amp.c_str(), model::fusedAttention() ? "true" : "false", trainRate,
                forwardRate);
    return 0;
}
