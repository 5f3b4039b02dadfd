// The attention quantities of SPEC section 7 against their definitions on hand-built matrices,
// and the model's recorded attention probabilities against a direct computation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/test_models.h"
#include "inspect/attention.h"

using namespace dilute;

namespace {
// One image, one head, grid 2 (4 patches) after `prefix` >= 1 tokens: every patch query puts `w`
// on its right-hand neighbour in reading order (wrapping) and the rest on the class token.
torch::Tensor neighbourAttention(int prefix, double w) {
    const int T = prefix + 4;
    auto A = torch::zeros({1, 1, T, T}, torch::kFloat64);
    for (int t = 0; t < T; ++t) A[0][0][t][0] = 1.0;
    for (int q = 0; q < 4; ++q) {
        A[0][0][prefix + q][0] = 1.0 - w;
        A[0][0][prefix + q][prefix + (q + 1) % 4] = w;
    }
    return A.to(torch::kFloat);
}
}  // namespace

TEST(InspectAttention, PatchDistancesAreGridDistancesInPixels) {
    const auto d = inspect::patchDistances(3, 7);
    ASSERT_EQ(d.sizes(), (std::vector<int64_t>{9, 9}));
    EXPECT_DOUBLE_EQ(d[0][0].item<double>(), 0.0);
    EXPECT_DOUBLE_EQ(d[0][1].item<double>(), 7.0);
    EXPECT_DOUBLE_EQ(d[0][3].item<double>(), 7.0);                     // one row down
    EXPECT_NEAR(d[0][8].item<double>(), 7.0 * std::sqrt(8.0), 1e-12);  // (0,0) -> (2,2)
    EXPECT_NEAR(d[5][6].item<double>(), 7.0 * std::sqrt(5.0), 1e-12);  // (1,2) -> (2,0)
}

TEST(InspectAttention, HandBuiltAttentionGivesTheKnownDistance) {
    // Right-hand neighbours on a 2x2 grid: 0->1 and 2->3 are one patch away, 1->2 and 3->0 a
    // diagonal; weights on the class token count for nothing (not renormalised).
    const double patch = 16, w = 0.5;
    const auto d = inspect::patchDistances(2, int(patch));
    const auto s = inspect::distanceSums(neighbourAttention(1, w), 1, d);
    const double want = w * patch * (1 + std::sqrt(2.0) + 1 + std::sqrt(2.0));  // summed over 4 queries
    EXPECT_NEAR(s[0].item<double>(), want, 1e-5);
}

TEST(InspectAttention, ClassTokenMapIsTheClassRowOverThePatches) {
    auto A = torch::rand({2, 3, 7, 7}).softmax(-1);
    const auto m = inspect::classTokenMaps(A, 2);
    ASSERT_EQ(m.sizes(), (std::vector<int64_t>{2, 3, 5}));
    EXPECT_TRUE(torch::equal(m, A.select(2, 0).narrow(-1, 2, 5)));
}

TEST(InspectAttention, RolloutOfUniformAttentionIsUniformOverPatches) {
    const int T = 5, B = 2;
    std::vector<torch::Tensor> A(3, torch::full({B, 2, T, T}, 1.0 / T));
    const auto r = inspect::rollout(A, {1.0, 1.0, 1.0}, 1, true, B, T);
    ASSERT_EQ(r.sizes(), (std::vector<int64_t>{B, T - 1}));
    EXPECT_NEAR((r - r[0][0]).abs().max().item<double>(), 0.0, 1e-12);
    EXPECT_GT(r[0][0].item<double>(), 0.0);
}

TEST(InspectAttention, RolloutFollowsTheDefinitionAndARemovedBlockIsTheIdentity) {
    torch::manual_seed(3);
    const int T = 6, B = 2, P = 4, prefix = 2;
    auto A0 = torch::rand({B, 3, T, T}).softmax(-1), A1 = torch::rand({B, 3, T, T}).softmax(-1);
    const double lam = 0.3;
    const auto r = inspect::rollout({A0, A1}, {1.0, lam}, prefix, true, B, T);
    const auto I = torch::eye(T, torch::kFloat64);
    for (int b = 0; b < B; ++b) {
        auto B0 = (I + A0[b].to(torch::kFloat64).mean(0)) / 2;
        auto B1 = ((2 - lam) * I + lam * A1[b].to(torch::kFloat64).mean(0)) / 2;
        auto R = torch::mm(B1, B0);
        EXPECT_TRUE(torch::allclose(r[b], R[0].narrow(0, prefix, P), 1e-12, 1e-12));
    }
    // Removed (undefined) and diluted to lambda 0 are both the identity: the same as one block.
    const auto one = inspect::rollout({A0}, {1.0}, prefix, true, B, T);
    EXPECT_TRUE(torch::allclose(inspect::rollout({A0, torch::Tensor()}, {1.0, 0.0}, prefix, true, B, T), one));
    EXPECT_TRUE(torch::allclose(inspect::rollout({A0, A1}, {1.0, 0.0}, prefix, true, B, T), one));
    // No class token: the mean over the patch rows.
    auto R0 = (I + A0[0].to(torch::kFloat64).mean(0)) / 2;
    const auto noCls = inspect::rollout({A0}, {1.0}, prefix, false, B, T);
    EXPECT_TRUE(torch::allclose(noCls[0], R0.narrow(0, prefix, P).narrow(1, prefix, P).mean(0), 1e-12, 1e-12));
}

TEST(InspectAttention, RecordedProbabilitiesAreTheBlocksSoftmaxAndChangeNothing) {
    auto m = dilute::testing::stretchedModel(4, 3);
    m->block(1)->setLambda(0.0);  // diluted to zero: still recorded, still x 2
    m->block(2)->removeAttention();
    const auto x = dilute::testing::randomImages(1, 3).front();
    torch::NoGradGuard ng;
    const auto plain = m->forward(x);
    model::FeatureTaps taps;
    taps.blocks = false;
    taps.probs = true;
    const auto logits = m->forward(x, &taps);
    EXPECT_TRUE(torch::allclose(logits, plain, 1e-4, 1e-5));
    ASSERT_EQ(taps.attn_probs.size(), 3u);
    EXPECT_TRUE(taps.attn_probs[1].defined());
    EXPECT_FALSE(taps.attn_probs[2].defined());
    // Block 0 by hand: softmax(q k^T / sqrt(d)) of LN1 of the embedded tokens.
    auto b = m->block(0);
    const auto& c = m->config();
    auto y = b->norm1->forward(m->embed(x));
    auto qkv = b->attn->qkv->forward(y).reshape({3, c.numTokens(), 3, c.num_heads, c.headDim()});
    const auto q = qkv.select(2, 0).permute({0, 2, 1, 3});
    const auto k = qkv.select(2, 1).permute({0, 2, 1, 3});
    auto want = torch::matmul(q, k.transpose(-2, -1)).div(std::sqrt(double(c.headDim()))).softmax(-1);
    EXPECT_TRUE(torch::allclose(taps.attn_probs[0], want, 1e-4, 1e-6));
    const auto rowSums = taps.attn_probs[1].sum(-1);
    EXPECT_TRUE(torch::allclose(rowSums, torch::ones_like(rowSums), 1e-5, 1e-5));
}
