// The CUDA path and the fused attention (ctest label "gpu"; packaging/gpu-check.sh runs them on
// the GPU machine). Each test says why it skips: no CUDA device, or LibTorch < 2.0 (no
// at::scaled_dot_product_attention, Debian's 1.13).
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "dist/group.h"
#include "io/weights.h"
#include "model/preset.h"
#include "model/vit.h"
#include "test_util.h"
#include "train/metrics.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/runtime.h"
#include "util/torchcompat.h"

using namespace dilute;

namespace {

double maxRelDiff(const torch::Tensor& a, const torch::Tensor& b) {
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item<double>();
}

struct FusedScope {  // restores the process-wide switch
    bool was = model::fusedAttention();
    ~FusedScope() { model::setFusedAttention(was); }
};

}  // namespace

TEST(Gpu, FusedAttentionEqualsTheExplicitPath) {
    if (!model::fusedAttentionAvailable())
        GTEST_SKIP() << "LibTorch " << TORCH_VERSION << ": no fused attention (needs >= 2.0)";
    FusedScope keep;
    torch::manual_seed(3);
    auto cfg = model::preset("vit_tiny_patch4_32");
    auto m = model::buildModel(cfg);
    m->eval();
    std::vector<std::string> devices{"cpu"};
    if (torch::cuda::is_available()) devices.push_back("cuda");
    for (const auto& dev : devices) {
        m->to(torch::Device(dev));
        auto x = torch::randn({4, cfg.in_chans, cfg.img_size, cfg.img_size}).to(torch::Device(dev));
        torch::NoGradGuard ng;
        model::setFusedAttention(false);
        const auto explicitOut = m->forward(x);
        model::setFusedAttention(true);
        const auto fusedOut = m->forward(x);
        EXPECT_LT(maxRelDiff(fusedOut, explicitOut), 1e-4) << dev;
    }
    // Gradients agree too: training takes the fused path.
    m->to(torch::kCPU);
    auto x = torch::randn({2, cfg.in_chans, cfg.img_size, cfg.img_size});
    auto grads = [&](bool fused) {
        model::setFusedAttention(fused);
        m->zero_grad();
        m->forward(x).square().sum().backward();
        return m->block(0)->attn->qkv->weight.grad().clone();
    };
    EXPECT_LT(maxRelDiff(grads(true), grads(false)), 1e-4);
}

TEST(Gpu, CudaForwardMatchesCpu) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    EXPECT_TRUE(compat::setCudaDevice(0));      // a CUDA build has the c10/cuda headers
    const auto device = resolveDevice("cuda");  // fp32 is fp32: TF32 off for cuBLAS and cuDNN
    EXPECT_FALSE(compat::tf32CuBlas());
    EXPECT_FALSE(compat::tf32CuDnn());
    torch::manual_seed(5);
    auto cfg = model::preset("deit_small_patch16_224");
    auto m = model::buildModel(cfg);
    m->eval();
    auto x = torch::randn({4, 3, 224, 224});
    torch::NoGradGuard ng;
    const auto cpu = m->forward(x);
    m->to(torch::Device(device));
    const auto gpu = m->forward(x.to(torch::Device(device))).cpu();
    const double d = maxRelDiff(gpu, cpu);
    std::printf("DeiT-S logits, CUDA fp32 vs CPU: max relative difference %.2e\n", d);
    EXPECT_LT(d, 1e-4);
}

TEST(Gpu, NcclGroupOfOneRankAllreduces) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    dist::LaunchInfo li;
    li.master_port = dist::freeLocalPort();
    std::shared_ptr<dist::Group> g;
    try {
        g = dist::Group::connect(li, "cuda:0", std::chrono::seconds(60), "nccl");
    } catch (const Error& e) {
        if (std::string(e.what()).find("no NCCL") != std::string::npos) GTEST_SKIP() << e.what();
        throw;
    }
    EXPECT_EQ(g->backend(), "nccl");
    auto t = torch::tensor({2.5f, -1.0f}, torch::Device("cuda:0"));
    g->allreduceSum({t});
    g->barrier();
    EXPECT_TRUE(torch::equal(t.cpu(), torch::tensor({2.5f, -1.0f})));
    // Host tensors (the trainer shares its block selection as a CPU int64 tensor) travel to the
    // GPU and back: NCCL takes CUDA tensors only.
    auto blocks = torch::tensor({int64_t(0), int64_t(2)}, torch::kLong);
    g->broadcast({blocks});
    EXPECT_FALSE(blocks.is_cuda());
    EXPECT_TRUE(torch::equal(blocks, torch::tensor({int64_t(0), int64_t(2)}, torch::kLong)));
}

TEST(Gpu, GlooStagesCudaTensorsThroughTheHost) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    dist::LaunchInfo li;
    li.master_port = dist::freeLocalPort();
    auto g = dist::Group::connect(li, "cuda:0", std::chrono::seconds(60), "gloo");
    EXPECT_EQ(g->backend(), "gloo");
    auto t = torch::tensor({3.0f, 4.0f}, torch::Device("cuda:0"));
    g->allreduceSum({t});
    g->broadcast({t});
    EXPECT_TRUE(t.is_cuda());
    EXPECT_TRUE(torch::equal(t.cpu(), torch::tensor({3.0f, 4.0f})));
}

TEST(Gpu, Bf16DilutionTrainingFadesTheAttentionOut) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP() << "Fashion-MNIST not found (DILUTE_FASHION_MNIST_DIR)";
    dilute::testing::TempDir d("gpu-train");
    train::TrainOptions o;
    o.model = "vit_nano_patch7_28";
    o.device = "cuda";
    o.amp = "bf16";
    o.epochs = 3;
    o.batch = 128;
    o.lr = 2e-3;
    o.train_limit = 6144;
    o.test_limit = 1000;
    o.select = "0,2";
    o.schedule.end = 2;  // lambda reaches 0 after 2 of 3 epochs
    o.out_dir = d.file("run");
    const auto s = train::train(o);
    EXPECT_EQ(s.blocks, (std::vector<int>{0, 2}));
    EXPECT_GT(s.final_top1, 50.0);
    double first = 0, last = 0;
    std::vector<double> lastLambda;
    for (const auto& e : train::readMetrics(d.file("run/metrics.jsonl")))
        if (e.kind == train::MetricsEvent::Kind::Step) {
            if (first == 0) first = e.step.loss;
            last = e.step.loss;
            lastLambda = e.step.lambdas;
        }
    EXPECT_LT(last, first);                                  // the loss falls
    EXPECT_EQ(lastLambda, (std::vector<double>{0.0, 0.0}));  // and the attention is faded out
    // At lambda 0 the attention is not computed: the trained model equals itself with the
    // attention of blocks 0 and 2 removed.
    auto m = io::openModel(d.file("run/final.safetensors"));
    auto removed = io::openModel(d.file("run/final.safetensors"));
    removed->removeAttention({0, 2}, true);
    m->eval();
    removed->eval();
    auto x = torch::randn({8, 1, 28, 28});
    torch::NoGradGuard ng;
    EXPECT_LT(maxRelDiff(removed->forward(x), m->forward(x)), 1e-4);
}
