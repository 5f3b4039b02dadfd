// The CPU attention kernel (model/kernels.h) against the ATen operators it replaces.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <dlfcn.h>

#include "model/kernels.h"
#include "model/vit.h"
#include "test_models.h"

using namespace dilute;
namespace K = dilute::model::kernels;

namespace {

// The kernels switched on for the test (skipped where this build or CPU has none); the switch
// is restored whatever the test does.
class KernelsOn : public ::testing::Test {
protected:
    void SetUp() override {
        if (!K::available()) GTEST_SKIP() << "kernels not available here";
        K::setEnabled(true);
    }
    void TearDown() override { K::setEnabled(was_); }

private:
    bool was_ = K::enabled();
};

double relMax(const torch::Tensor& a, const torch::Tensor& b) {
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item<double>();
}

torch::Tensor atenAttention(const torch::Tensor& qkv, int H) {
    const auto B = qkv.size(0), N = qkv.size(1), C = qkv.size(2) / 3, hd = C / H;
    auto t = qkv.reshape({B, N, 3, H, hd}).permute({2, 0, 3, 1, 4});
    auto a = torch::matmul(t[0] * (1.0 / std::sqrt(static_cast<double>(hd))), t[1].transpose(-2, -1)).softmax(-1);
    return torch::matmul(a, t[2]).transpose(1, 2).reshape({B, N, C});
}

int blasThreads() {
    auto get = reinterpret_cast<int (*)()>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    return get ? get() : -1;
}

}  // namespace

TEST(Kernels, AvailableOnX86WithAvx2AndGlibc) {
#if defined(__x86_64__) && defined(__GLIBC__)
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) GTEST_SKIP() << "CPU without AVX2/FMA";
    EXPECT_TRUE(K::available()) << "x86-64 glibc with AVX2: the kernel should be built (libmvec, OpenMP) and find sgemm_";
#else
    GTEST_SKIP() << "not x86-64 glibc";
#endif
}

TEST_F(KernelsOn, AttentionMatchesAtenAndLeavesBlasThreadsAsTheyWere) {
    torch::NoGradGuard ng;
    torch::manual_seed(5);
    const int before = blasThreads();
    const struct {
        int64_t B, N, C;
        int H;
    } shapes[] = {{2, 197, 384, 6}, {3, 17, 96, 4}, {1, 5, 24, 3}, {2, 50, 192, 3}};
    for (const auto& s : shapes) {
        auto qkv = torch::randn({s.B, s.N, 3 * s.C});
        ASSERT_TRUE(K::attentionApplies(qkv));
        auto out = K::attention(qkv, s.H);
        ASSERT_EQ(out.sizes(), torch::IntArrayRef({s.B, s.N, s.C}));
        EXPECT_LT(relMax(out, atenAttention(qkv, s.H)), 2e-6) << s.B << "x" << s.N << "x" << s.C << "/" << s.H;
    }
    EXPECT_EQ(blasThreads(), before) << "the attention must restore OpenBLAS's thread count";
    // Not for tensors it does not handle: those keep the ATen path.
    EXPECT_FALSE(K::attentionApplies(torch::randn({2, 5, 72}, torch::kDouble)));
    EXPECT_FALSE(K::attentionApplies(torch::randn({2, 72, 5}).transpose(1, 2)));
    K::setEnabled(false);
    EXPECT_FALSE(K::attentionApplies(torch::randn({2, 5, 72})));
}

TEST_F(KernelsOn, LinearAndLinearGeluMatchAtenForEveryRowSplit) {
    torch::NoGradGuard ng;
    torch::manual_seed(6);
    const int before = blasThreads();
    // Row counts that split unevenly, a 3-D input as the blocks pass it, with and without bias.
    const struct {
        std::vector<int64_t> x;
        int64_t n;
        bool bias;
    } cases[] = {{{4352, 96}, 288, true}, {{1031, 40}, 7, true}, {{3, 1001, 64}, 130, false}, {{6, 197, 384}, 1152, true}};
    for (const auto& c : cases) {
        auto x = torch::randn(c.x);
        auto w = torch::randn({c.n, c.x.back()}) * 0.1;
        auto b = c.bias ? torch::randn({c.n}) : torch::Tensor();
        ASSERT_TRUE(K::linearApplies(x, w)) << x.sizes();
        auto y = K::linear(x, w, b);
        auto ref = torch::nn::functional::linear(x, w, b);
        ASSERT_EQ(y.sizes(), ref.sizes());
        EXPECT_LT(relMax(y, ref), 2e-6) << x.sizes();
        EXPECT_LT(relMax(K::linear(x, w, b, /*gelu=*/true), torch::gelu(ref)), 2e-6) << x.sizes();
    }
    EXPECT_EQ(blasThreads(), before) << "linear must restore OpenBLAS's thread count";
    // Few rows (batch 1 of DeiT: 197 tokens), a mismatched weight, or a gradient: the module's path.
    EXPECT_FALSE(K::linearApplies(torch::randn({197, 384}), torch::randn({1152, 384})));
    EXPECT_FALSE(K::linearApplies(torch::randn({2048, 384}), torch::randn({1152, 383})));
    torch::GradMode::set_enabled(true);
    EXPECT_FALSE(K::linearApplies(torch::randn({2048, 8}), torch::randn({4, 8}).requires_grad_(true)));
    torch::GradMode::set_enabled(false);
}

TEST_F(KernelsOn, AttentionStaysOnTheAtenPathWhenAGradientIsTaken) {
    auto qkv = torch::randn({2, 5, 72}).requires_grad_(true);
    EXPECT_FALSE(K::attentionApplies(qkv));
    torch::NoGradGuard ng;
    EXPECT_TRUE(K::attentionApplies(qkv));
}

TEST_F(KernelsOn, ModelOutputsTapsAndGradientsAgreeWithTheAtenPath) {
    auto m = dilute::testing::stretchedModel(7, 4);
    m->setDropPath(0.0);  // the two training passes must see the same network
    auto x = torch::randn({64, 1, 28, 28});  // 64 x 17 tokens: enough rows for the linear kernel
    auto run = [&](bool on, model::FeatureTaps* taps) {
        K::setEnabled(on);
        torch::NoGradGuard ng;
        return m->forward(x, taps);
    };
    model::FeatureTaps t1, t0;
    auto fast = run(true, &t1);
    auto slow = run(false, &t0);
    EXPECT_LT(relMax(fast, slow), 1e-5);
    ASSERT_EQ(t1.attn_heads.size(), t0.attn_heads.size());
    for (size_t i = 0; i < t0.attn_heads.size(); ++i) {
        EXPECT_LT(relMax(t1.attn_heads[i], t0.attn_heads[i]), 1e-5) << "block " << i;
        EXPECT_LT(relMax(t1.mlp[i], t0.mlp[i]), 1e-5) << "block " << i;
    }
    // Training keeps ATen's path: the same gradients whether the switch is on or off.
    auto grads = [&](bool on) {
        K::setEnabled(on);
        m->zero_grad();
        m->train();
        torch::cross_entropy_loss(m->forward(x), torch::arange(64) % 10).backward();
        m->eval();
        std::vector<torch::Tensor> g;
        for (auto& p : m->parameters()) g.push_back(p.grad().clone());
        return g;
    };
    auto g1 = grads(true), g0 = grads(false);
    for (size_t i = 0; i < g0.size(); ++i) EXPECT_EQ(relMax(g1[i], g0[i]), 0.0) << "parameter " << i;
}
