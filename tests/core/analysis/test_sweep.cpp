// analysis/sweep.h and the max-T selector: the exhaustive sweep against the plain per-subset
// computations, Spearman and the binomial, and max-T as the greedy argmax.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "analysis/profile.h"
#include "analysis/selectors.h"
#include "analysis/sweep.h"
#include "analysis/transfer.h"
#include "core/test_models.h"
#include "core/test_util.h"
#include "model/vit.h"

using namespace dilute;
using namespace dilute::analysis;

namespace {

using dilute::testing::stretchedModel;
std::vector<torch::Tensor> images(int batches, int bs, uint64_t seed) {
    return dilute::testing::randomImages(batches, bs, seed);
}

}  // namespace

TEST(Sweep, EveryKSubsetMatchesTransferAndSkippedTop1) {
    auto m = stretchedModel(5, 6);
    const auto calib = images(2, 12, 1);
    LabeledSet eval;
    eval.images = images(3, 10, 2);
    {
        // Labels the full model gets about half right, so skipping changes the count.
        c10::InferenceMode im;
        for (const auto& b : eval.images) {
            auto pred = m->forward(b).argmax(1);
            eval.labels.push_back(torch::where(torch::arange(b.size(0)) % 2 == 0, pred, (pred + 1) % 10));
        }
    }
    TransferEntropy te(*m, calib);
    const std::vector<int> cand{0, 1, 2, 3, 5};  // block 4 left out: candidates need not be contiguous
    for (int k : {1, 2, 3}) {
        auto scores = sweepSubsets(*m, calib, te.fullEntropy(), "cls", eval, cand, k);
        ASSERT_EQ(static_cast<long long>(scores.size()), binomial(5, k));
        std::set<std::vector<int>> seen;
        for (size_t i = 0; i < scores.size(); ++i) {
            const auto& s = scores[i];
            ASSERT_EQ(static_cast<int>(s.blocks.size()), k);
            EXPECT_TRUE(std::is_sorted(s.blocks.begin(), s.blocks.end()));
            if (i) EXPECT_LT(scores[i - 1].blocks, s.blocks);  // lexicographic order
            seen.insert(s.blocks);
            EXPECT_EQ(s.t, te.T(s.blocks)) << "T differs for subset " << i;  // bitwise on CPU
            EXPECT_EQ(s.top1, skippedTop1(*m, eval, s.blocks)) << "top-1 differs for subset " << i;
            for (int b : s.blocks) EXPECT_NE(b, 4);
        }
        EXPECT_EQ(seen.size(), scores.size());
    }
    // The logits variant agrees with TransferEntropy on logits too.
    TransferOptions lo;
    lo.output = "logits";
    TransferEntropy tl(*m, calib, lo);
    for (const auto& s : sweepSubsets(*m, calib, tl.fullEntropy(), "logits", eval, cand, 2))
        EXPECT_EQ(s.t, tl.T(s.blocks));
    // Skipping nothing: the plain forward's accuracy.
    EXPECT_NEAR(skippedTop1(*m, eval, {}), 50.0, 1e-9);
    EXPECT_THROW(sweepSubsets(*m, calib, te.fullEntropy(), "cls", eval, cand, 6), Error);
    EXPECT_THROW(sweepSubsets(*m, calib, te.fullEntropy(), "cls", eval, {3, 1}, 1), Error);
}

TEST(Sweep, SpearmanAndBinomial) {
    EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
    EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
    // Monotone but not linear: still 1 (ranks, not values).
    EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4, 5}, {1, 8, 27, 64, 1000}), 1.0);
    // Ties take their average rank: a = ranks (1, 2.5, 2.5, 4), b = (1, 2, 3, 4) -> r = 0.9487 (Pearson of the ranks).
    EXPECT_NEAR(spearman({1, 2, 2, 3}, {1, 2, 3, 4}), 0.9486832980505138, 1e-12);
    // A hand-checked case: d = (0, -2, 1, 1, 0) -> 1 - 6*6/(5*24) = 0.7
    EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {1, 4, 2, 3, 5}), 0.7, 1e-12);
    EXPECT_TRUE(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
    EXPECT_TRUE(std::isnan(spearman({1}, {2})));
    EXPECT_THROW(spearman({1, 2}, {1}), Error);
    EXPECT_EQ(binomial(12, 4), 495);
    EXPECT_EQ(binomial(12, 6), 924);
    EXPECT_EQ(binomial(5, 0), 1);
    EXPECT_EQ(binomial(5, 6), 0);
    EXPECT_EQ(binomial(200, 100), std::numeric_limits<long long>::max());
}

TEST(Selectors, MaxTransferIsGreedyArgmax) {
    auto m = stretchedModel(9, 5);
    TransferEntropy te(*m, images(2, 8, 3));
    auto s = maxTransfer(te, 2);
    ASSERT_EQ(s.blocks.size(), 2u);
    EXPECT_EQ(s.selector, "max-t");
    double best = -INFINITY;
    int arg = -1;
    for (int i = 0; i < 5; ++i)
        if (te.T({i}) > best) best = te.T({i}), arg = i;
    EXPECT_EQ(s.blocks[0], arg);
    for (int j = 0; j < 5; ++j)
        if (j != arg) EXPECT_LE(te.T({arg, j}), te.T({arg, s.blocks[1]}));
    EXPECT_EQ(s.t_final, te.T(s.blocks));
}
