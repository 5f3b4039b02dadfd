// One model's training-step and forward throughput on a device, as JSON (packaging/gpu-check.sh
// puts it beside timm's in the same run: tests/gpu/compare_timm.py). A training step is forward
// + backward + AdamW on a fixed random batch, with autocast (bf16 | fp16 | off) on CUDA.
// Run: build/tests/bench/bench_step MODEL BATCH [DEVICE=cpu] [AMP=off] [STEPS=20] [both|forward|train] [REMOVE=0,2,...]
// (REMOVE: blocks whose attention is removed, folded: the pruned model's cost.)
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "model/kernels.h"
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
    dilute::preferPassiveOpenMp(argv);  // as the CLI runs its jobs
    if (argc < 3) {
        std::fprintf(stderr, "usage: bench_step MODEL BATCH [DEVICE] [AMP] [STEPS] [both|forward|train]\n");
        return 2;
    }
    const std::string name = argv[1];
    const int batch = std::atoi(argv[2]);
    const std::string device = resolveDevice(argc > 3 ? argv[3] : "cpu");
    const std::string amp = argc > 4 ? argv[4] : "off";
    const int steps = argc > 5 ? std::atoi(argv[5]) : 20, warm = 5;
    const std::string mode = argc > 6 ? argv[6] : "both";
    if (mode != "both" && mode != "forward" && mode != "train") {
        std::fprintf(stderr, "bench_step: mode '%s': expected both, forward or train\n", mode.c_str());
        return 2;
    }
    dilute::setThreads(0);
    const auto cfg = model::preset(name);
    auto m = model::buildModel(cfg);
    m->initWeights(0);
    if (argc > 7 && *argv[7]) {
        std::vector<int> blocks;
        for (const char* p = argv[7]; *p;) {
            blocks.push_back(std::atoi(p));
            while (*p && *p != ',') ++p;
            if (*p == ',') ++p;
        }
        m->removeAttention(blocks, true);
    }
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
                c10::InferenceMode inference;  // as the product's evaluation and bench
                m->forward(x);
            }
        }
        sync(device);
        return batch * steps / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    const double trainRate = mode == "forward" ? 0.0 : run(true);
    const double forwardRate = mode == "train" ? 0.0 : run(false);
    std::printf(
        "{\"%s\": {\"removed\": %zu, \"batch\": %d, \"device\": \"%s\", \"amp\": \"%s\", \"fused_attention\": %s, "
        "\"cpu_kernels\": %s, \"train_img_s\": %.2f, \"forward_img_s\": %.2f}}\n",
        name.c_str(), m->removedBlocks().size(), batch, device.c_str(), amp.c_str(),
        model::fusedAttention() ? "true" : "false", device == "cpu" && model::kernels::enabled() ? "true" : "false",
        trainRate, forwardRate);
    return 0;
}
