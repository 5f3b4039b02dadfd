// The CPU attention kernel (model/kernels.h) against the ATen operators it replaces.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <dlfcn.h>

#include "core/test_models.h"
#include "model/kernels.h"
#include "model/vit.h"

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
    EXPECT_TRUE(K::available())
        << "x86-64 glibc with AVX2: the kernel should be built (libmvec, OpenMP) and find sgemm_";
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
    } cases[] = {
        {{4352, 96}, 288, true}, {{1031, 40}, 7, true}, {{3, 1001, 64}, 130, false}, {{6, 197, 384}, 1152, true}};
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
    m->setDropPath(0.0);                     // the two training passes must see the same network
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

// In inference a whole block runs in one parallel region (K::block): its output must be the
// modules' in every block mode and for both ways of sharing the work: split steps (batch 1 and
// 3 on 2 threads; column- and row-split products: embed 192 vs 96, where the projection's 48
// columns per thread split by rows; whole heads per thread and heads split into query-row bands,
// 3 heads on 2 threads) and image groups (batch 2, and 70 images: groups of 30 and a remainder).
TEST_F(KernelsOn, BlockMatchesTheModulesInEveryModeAndBatch) {
    if (const char* e = std::getenv("DILUTE_CPU_KERNELS"); e && std::string(e) == "ops")
        GTEST_SKIP() << "whole blocks off (DILUTE_CPU_KERNELS=ops)";
    const int threads = at::get_num_threads();
    at::set_num_threads(std::max(2, threads));  // the region needs two threads; restored below
    const int before = blasThreads();
    struct Shape {
        int dim, heads, batch;
    } shapes[] = {{192, 3, 1}, {96, 4, 3}, {48, 3, 2}, {96, 4, 70}};
    for (const auto& sh : shapes) {
        auto c = model::preset("vit_nano_patch7_28");
        c.embed_dim = sh.dim;
        c.num_heads = sh.heads;
        c.depth = 6;
        auto m = model::buildModel(c);
        m->initWeights(3);
        {
            torch::NoGradGuard ng;
            for (auto& p : m->parameters())
                if (p.dim() == 2) p.mul_(4.0);  // blocks that are far from linear
        }
        m->eval();
        m->block(1)->setLambda(0.3);        // diluted
        m->block(2)->setLambda(0.0);        // fully diluted: x 2, no attention
        m->removeAttention({3}, false);     // removed, residual x 2
        m->block(5)->removeAttention(1.0);  // removed with the doubling folded elsewhere
        const std::vector<bool> skip = {false, false, false, false, true, false};  // block 4 skipped
        torch::NoGradGuard ng;
        auto tokens = m->embed(torch::randn({sh.batch, 1, 28, 28}));
        auto run = [&](bool on, model::FeatureTaps* taps) {
            K::setEnabled(on);
            std::vector<torch::Tensor> outs;
            auto x = tokens;
            for (int i = 0; i < m->depth(); ++i) outs.push_back(x = m->block(i)->forward(x, taps, skip[i]));
            return outs;
        };
        const uint64_t runs = K::blockRuns();
        model::FeatureTaps t1, t0;
        auto fast = run(true, nullptr);
        auto tapped = run(true, &t1);
        EXPECT_EQ(K::blockRuns() - runs, 12u) << "every block must take the one-region path (dim " << sh.dim << ")";
        auto slow = run(false, &t0);
        for (int i = 0; i < m->depth(); ++i) {
            EXPECT_LT(relMax(fast[i], slow[i]), 1e-5) << "dim " << sh.dim << " block " << i;
            EXPECT_TRUE(torch::equal(fast[i], tapped[i])) << "the taps must not change the output, block " << i;
            EXPECT_LT(relMax(t1.mlp[i], t0.mlp[i]), 1e-5) << "dim " << sh.dim << " block " << i;
            ASSERT_EQ(t1.attn[i].defined(), t0.attn[i].defined()) << "block " << i;
            if (t0.attn[i].defined()) {
                EXPECT_LT(relMax(t1.attn[i], t0.attn[i]), 1e-5) << "dim " << sh.dim << " block " << i;
                EXPECT_LT(relMax(t1.attn_heads[i], t0.attn_heads[i]), 1e-5) << "dim " << sh.dim << " block " << i;
            }
        }
        K::setEnabled(true);
        // A whole forward too (the head and final norm on top).
        auto img = torch::randn({sh.batch, 1, 28, 28});
        auto a = m->forward(img);
        K::setEnabled(false);
        EXPECT_LT(relMax(a, m->forward(img)), 1e-5) << "dim " << sh.dim;
    }
    EXPECT_EQ(blasThreads(), before) << "the block must restore OpenBLAS's thread count";
    at::set_num_threads(threads);
}

TEST_F(KernelsOn, BlockIsNotUsedForTrainingButForTaps) {
    if (const char* e = std::getenv("DILUTE_CPU_KERNELS"); e && std::string(e) == "ops")
        GTEST_SKIP() << "whole blocks off (DILUTE_CPU_KERNELS=ops)";
    const int threads = at::get_num_threads();
    at::set_num_threads(std::max(2, threads));
    auto m = dilute::testing::stretchedModel(5, 2);
    auto b = m->block(0);
    K::BlockWeights w;
    w.norm1_w = b->norm1->weight, w.norm1_b = b->norm1->bias, w.qkv_w = b->attn->qkv->weight;
    w.qkv_b = b->attn->qkv->bias, w.proj_w = b->attn->proj->weight, w.proj_b = b->attn->proj->bias;
    w.norm2_w = b->norm2->weight, w.norm2_b = b->norm2->bias, w.fc1_w = b->mlp->fc1->weight;
    w.fc1_b = b->mlp->fc1->bias, w.fc2_w = b->mlp->fc2->weight, w.fc2_b = b->mlp->fc2->bias;
    w.heads = static_cast<int>(b->attn->num_heads);
    const auto D = m->config().embed_dim;
    {
        torch::NoGradGuard ng;
        EXPECT_TRUE(K::blockApplies(torch::randn({2, 17, D}), w));
        EXPECT_TRUE(K::blockApplies(torch::randn({61, 17, D}), w));
        EXPECT_FALSE(K::blockApplies(torch::randn({2, 17, D}).transpose(0, 1), w)) << "not contiguous";
        EXPECT_FALSE(K::blockApplies(torch::randn({2, 17, D + 1}), w)) << "wrong width";
        auto bad = w;
        bad.heads = 5;
        EXPECT_FALSE(K::blockApplies(torch::randn({2, 17, D}), bad)) << "heads that do not divide the width";
        at::set_num_threads(1);
        EXPECT_FALSE(K::blockApplies(torch::randn({2, 17, D}), w)) << "one thread: the per-operator path";
        at::set_num_threads(std::max(2, threads));
    }
    // With a gradient (training) the modules run; the taps (the entropy profile) come from the kernel.
    EXPECT_FALSE(K::blockApplies(torch::randn({2, 17, D}), w));
    const uint64_t runs = K::blockRuns();
    auto img = torch::randn({2, 1, 28, 28});
    m->train();
    m->forward(img).sum().backward();
    m->eval();
    EXPECT_EQ(K::blockRuns(), runs) << "training";
    {
        torch::NoGradGuard ng;
        model::FeatureTaps taps;
        m->forward(img, &taps);
        EXPECT_EQ(taps.attn_heads.size(), 2u);
    }
    EXPECT_EQ(K::blockRuns(), runs + 2) << "inference with taps";
    at::set_num_threads(threads);
}
