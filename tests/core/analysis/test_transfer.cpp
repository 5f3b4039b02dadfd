#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "analysis/entropy.h"
#include "analysis/job.h"
#include "analysis/profile.h"
#include "analysis/selectors.h"
#include "analysis/transfer.h"
#include "core/test_models.h"
#include "core/test_util.h"
#include "model/vit.h"
#include "util/error.h"

using namespace dilute;
using namespace dilute::analysis;

namespace {

model::VisionTransformer smallModel(uint64_t seed = 4, int depth = 5) {
    return dilute::testing::stretchedModel(seed, depth);
}
std::vector<torch::Tensor> calib(int batches, int bs = 16) { return dilute::testing::randomImages(batches, bs); }

}  // namespace

TEST(Transfer, EmptySetIsZeroAndUpstreamUnchanged) {
    auto m = smallModel();
    TransferEntropy te(*m, calib(2));
    EXPECT_EQ(te.T({}), 0.0);
    EXPECT_DOUBLE_EQ(te.outputEntropy({}), te.fullEntropy());
    // Skipping block 3 leaves blocks 0..2 (and the input of block 3) untouched.
    auto x = m->embed(calib(1)[0]);
    model::FeatureTaps a, b;
    std::vector<bool> skip(5, false);
    skip[3] = true;
    m->runBlocks(x, 0, 5, nullptr, &a);
    m->runBlocks(x, 0, 5, &skip, &b);
    for (int l = 0; l < 3; ++l) {
        EXPECT_TRUE(torch::equal(a.attn[l], b.attn[l]));
        EXPECT_TRUE(torch::equal(a.mlp[l], b.mlp[l]));
    }
    EXPECT_FALSE(b.attn[3].defined());
    EXPECT_FALSE(torch::equal(a.mlp[3], b.mlp[3]));
    EXPECT_NE(te.T({3}), 0.0);
}

// analyze takes the profile from TransferEntropy's first pass (ProfileAccumulator fed by its
// taps): the same numbers as the profile's own pass, on the per-operator path (one thread) and
// with the whole-block kernels (two threads, as the CLI runs).
TEST(Transfer, ProfileFromTheFirstPassEqualsItsOwnPass) {
    const int threads = at::get_num_threads();
    for (int t : {1, 2}) {
        at::set_num_threads(t);
        auto m = smallModel();
        auto batches = calib(3);
        for (const std::string output : {"cls", "logits"}) {
            auto own = entropyProfile(*m, batches, output);
            ProfileAccumulator acc(*m, output);
            long long steps = 0;
            TransferOptions to;
            to.output = output;
            TransferEntropy te(
                *m, batches, to, nullptr, [&](const model::FeatureTaps& taps) { acc.add(taps); },
                [&](long long done, long long total) {
                    EXPECT_EQ(total, 3);
                    steps = done;
                });
            auto p = acc.finish();
            EXPECT_EQ(steps, 3);
            EXPECT_DOUBLE_EQ(p.output, own.output) << output << ", " << t << " threads";
            EXPECT_DOUBLE_EQ(p.output, te.fullEntropy()) << output << ", " << t << " threads";
            ASSERT_EQ(p.attn.size(), own.attn.size());
            for (size_t l = 0; l < p.attn.size(); ++l) {
                EXPECT_DOUBLE_EQ(p.attn[l], own.attn[l]) << "block " << l;
                EXPECT_DOUBLE_EQ(p.mlp[l], own.mlp[l]) << "block " << l;
                for (size_t h = 0; h < p.head[l].size(); ++h) EXPECT_DOUBLE_EQ(p.head[l][h], own.head[l][h]);
            }
        }
    }
    at::set_num_threads(threads);
}

TEST(Transfer, ProfileOutputEqualsTransferBaseline) {
    auto m = smallModel();
    auto batches = calib(3);
    auto p = entropyProfile(*m, batches);
    TransferEntropy te(*m, batches);
    EXPECT_NEAR(p.output, te.fullEntropy(), 1e-9);
    EXPECT_EQ(p.head.size(), 5u);
    EXPECT_EQ(p.head[0].size(), 4u);
    for (int l = 0; l < 5; ++l) {
        EXPECT_TRUE(std::isfinite(p.attn[l]));
        EXPECT_TRUE(std::isfinite(p.mlp[l]));
    }
}

TEST(Transfer, PrefixCachedEqualsNaive) {
    auto m = smallModel();
    TransferOptions cached, naive, strided;
    naive.cache = false;
    strided.cache_budget_bytes = 1;  // forces caching every k-th block only
    TransferEntropy a(*m, calib(3), cached), b(*m, calib(3), naive), c(*m, calib(3), strided);
    EXPECT_GT(c.cacheStride(), 1);
    for (std::vector<int> s : {std::vector<int>{0}, {2}, {4}, {1, 3}, {3, 1, 4}}) {
        EXPECT_EQ(a.T(s), b.T(s));  // bitwise on CPU
        EXPECT_EQ(c.T(s), b.T(s));
    }
    auto sa = nose(a, 3, false), sb = nose(b, 3, false);
    EXPECT_EQ(sa.blocks, sb.blocks);
    for (size_t i = 0; i < sa.trace.size(); ++i) EXPECT_EQ(sa.trace[i].t, sb.trace[i].t);
}

TEST(Transfer, EachSetIsComputedOnce) {
    // analyze reports T({i}) for every block and then runs NOSE, whose first round asks for the
    // same sets: with the cache on, they cost no second pass (and the order of a set is moot).
    auto m = smallModel();
    TransferOptions naiveOpt;
    naiveOpt.cache = false;
    TransferEntropy te(*m, calib(2)), naive(*m, calib(2), naiveOpt);
    const auto single = singleTransfer(te);
    const int after = te.evaluations();
    EXPECT_EQ(after, static_cast<int>(te.candidates().size()));
    auto s = nose(te, 1, false);
    EXPECT_EQ(te.evaluations(), after);
    for (size_t c = 0; c < s.trace[0].candidates.size(); ++c)
        EXPECT_EQ(s.trace[0].t[c], single[s.trace[0].candidates[c]]);
    const double t13 = te.T({1, 3});
    EXPECT_EQ(te.T({3, 1}), t13);
    EXPECT_EQ(te.evaluations(), after + 1);
    EXPECT_EQ(naive.T({3, 1}), t13);
    EXPECT_EQ(naive.T({1, 3}), t13);
    EXPECT_EQ(naive.evaluations(), 2);  // the naive reference recomputes, as a plain loop would
}

TEST(Nose, GreedyTraceMatchesBruteForce) {
    auto m = smallModel(9, 6);
    TransferOptions naive;
    naive.cache = false;
    TransferEntropy te(*m, calib(2)), ref(*m, calib(2), naive);
    for (bool absolute : {false, true}) {
        auto s = nose(te, 3, absolute);
        ASSERT_EQ(s.trace.size(), 3u);
        std::vector<int> chosen;
        for (const auto& st : s.trace) {
            double best = INFINITY;
            int arg = -1;
            std::vector<int> expectCand;
            for (int i = 0; i < 6; ++i)
                if (std::find(chosen.begin(), chosen.end(), i) == chosen.end()) expectCand.push_back(i);
            EXPECT_EQ(st.candidates, expectCand);
            for (size_t c = 0; c < expectCand.size(); ++c) {
                auto set = chosen;
                set.push_back(expectCand[c]);
                const double t = ref.T(set);
                EXPECT_EQ(st.t[c], t);
                const double key = absolute ? std::fabs(t) : t;
                if (key < best) best = key, arg = expectCand[c];
            }
            EXPECT_EQ(st.chosen, arg);
            chosen.push_back(arg);
        }
        EXPECT_EQ(s.blocks, chosen);
        EXPECT_EQ(s.selector, absolute ? "nose-abs" : "nose");
    }
    EXPECT_THROW(nose(te, 7, false), Error);
}

TEST(Transfer, CancellationStopsWithinOneBatch) {
    auto m = smallModel();
    CancelToken cancel;
    TransferEntropy te(*m, calib(4), {}, &cancel);
    cancel.cancel();
    EXPECT_THROW(te.T({1}), Cancelled);
    EXPECT_EQ(te.evaluations(), 0);
    CancelToken c2;
    int steps = 0;
    EXPECT_THROW(entropyProfile(*m, calib(6), "cls", &c2,
                                [&](long long, long long) {
                                    ++steps;
                                    c2.cancel();
                                }),
                 Cancelled);
    EXPECT_EQ(steps, 1);
}

TEST(AnalysisJob, WritesAndReadsBackOnRealData) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    auto m = smallModel(1, 6);
    AnalysisOptions o;
    o.calib = 128;
    o.batch = 64;
    o.k = 2;
    o.pairwise = true;
    o.device = "cpu";
    auto r = runAnalysis(*m, o);
    EXPECT_EQ(r.calib, 128);
    EXPECT_EQ(r.selection.blocks.size(), 2u);
    EXPECT_EQ(r.pairwise.size(), 6u);
    dilute::testing::TempDir d("analysis");
    writeAnalysis(d.path(), r);
    auto back = readAnalysis(d.path());
    EXPECT_EQ(back.selection.blocks, r.selection.blocks);
    // The default calibration is a class-stratified sample: its seed and counts are recorded.
    EXPECT_EQ(back.calib_order, "stratified");
    ASSERT_EQ(back.calib_per_class.size(), 10u);
    size_t total = 0;
    for (size_t c : back.calib_per_class) {
        EXPECT_TRUE(c == 12 || c == 13) << c;  // 128 over 10 classes
        total += c;
    }
    EXPECT_EQ(total, 128u);
    EXPECT_EQ(back.profile.head.size(), 6u);
    EXPECT_NEAR(back.profile.attn[2], r.profile.attn[2], 1e-9);
    EXPECT_NEAR(back.pairwise[1][3], r.pairwise[1][3], 1e-9);
    EXPECT_TRUE(std::filesystem::exists(d.file("entropy.csv")));
    EXPECT_TRUE(std::filesystem::exists(d.file("pairwise.csv")));
    dilute::testing::writeBytes(d.file("bad.json"), {'{', '}'});
    EXPECT_THROW(readAnalysis(d.file("bad.json")), Error);
    // --calib-order first keeps the file order (and records it).
    o.calib_order = "first";
    o.pairwise = false;
    auto f = runAnalysis(*m, o);
    EXPECT_EQ(f.calib_order, "first");
    EXPECT_TRUE(f.calib_per_class.empty());
    EXPECT_NE(f.profile.attn[0], r.profile.attn[0]);  // other images, other entropies
}

TEST(Transfer, BaseCacheEqualsNaive) {
    auto m = smallModel(3, 6);
    TransferOptions naive, strided;
    naive.cache = false;
    strided.cache_budget_bytes = 1;
    TransferEntropy a(*m, calib(2)), b(*m, calib(2), naive), c(*m, calib(2), strided);
    a.setBase({3});
    c.setBase({3, 1});
    for (std::vector<int> s : {std::vector<int>{3}, {3, 1}, {3, 4}, {3, 5}, {1}, {0, 3}, {2, 4}, {3, 1, 5}})
        EXPECT_EQ(a.T(s), b.T(s));
    for (std::vector<int> s : {std::vector<int>{3, 1}, {3, 1, 4}, {1, 3, 0}, {5}}) EXPECT_EQ(c.T(s), b.T(s));
}

TEST(Transfer, KeptStreamBecomesTheBaseWithoutASecondPass) {
    // The greedy search keeps its best candidate's residual stream (keepLast); setBase of that set
    // then runs nothing (a cancelled token would stop any pass), and the numbers stay the naive's.
    auto m = smallModel(3, 6);
    TransferOptions naive;
    naive.cache = false;
    CancelToken cancel;
    TransferEntropy te(*m, calib(2), {}, &cancel), ref(*m, calib(2), naive);
    for (std::vector<int> kept : {std::vector<int>{3}, {3, 1}}) {
        te.T(kept);
        te.keepLast();
        cancel.cancel();
        EXPECT_NO_THROW(te.setBase(kept));
        cancel.reset();
        for (int c : {0, 2, 4, 5}) {
            auto s = kept;
            s.push_back(c);
            EXPECT_EQ(te.T(s), ref.T(s)) << c;
        }
    }
    // Only the set last computed is kept: a remembered set (no pass), or another set, is not.
    te.T({2});
    te.T({3});  // remembered from above: nothing computed, so {2}'s stream is what was recorded
    te.keepLast();
    cancel.cancel();
    EXPECT_THROW(te.setBase({3}), Cancelled);
    cancel.reset();
    // Greedy with the kept streams gives the naive greedy's trace, bit for bit.
    auto a = nose(te, 3, false), b = nose(ref, 3, false);
    EXPECT_EQ(a.blocks, b.blocks);
    for (size_t i = 0; i < a.trace.size(); ++i) EXPECT_EQ(a.trace[i].t, b.trace[i].t);
}
