// The formulas of a training step, each against its definition: the warm-up + cosine learning
// rate, label-smoothed targets, Mixup / CutMix, and fp16 dynamic loss scaling (GradScaler).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "train/stepmath.h"

using namespace dilute::train;

TEST(StepMath, LearningRateWarmsUpLinearlyThenFollowsTheHalfCosine) {
    const double lr = 1e-3, lo = 1e-5;
    const long long T = 1000, W = 100;
    EXPECT_DOUBLE_EQ(lrAt(lr, lo, 0, T, W), lr / W);                              // first step: lr / W
    EXPECT_DOUBLE_EQ(lrAt(lr, lo, 49, T, W), lr * 50 / W);                        // linear
    EXPECT_DOUBLE_EQ(lrAt(lr, lo, W - 1, T, W), lr);                              // warm-up ends at the peak
    EXPECT_DOUBLE_EQ(lrAt(lr, lo, W, T, W), lr);                                  // cosine starts at the peak
    EXPECT_NEAR(lrAt(lr, lo, W + (T - W) / 2, T, W), lo + (lr - lo) / 2, 1e-15);  // half way
    EXPECT_DOUBLE_EQ(lrAt(lr, lo, T, T, W), lo);                                  // the end: min_lr
    EXPECT_DOUBLE_EQ(lrAt(lr, lo, T + 50, T, W), lo);                             // and stays there
    for (long long s = W; s < T; s += 37) {                                       // the formula, everywhere
        const double p = double(s - W) / double(T - W);
        EXPECT_NEAR(lrAt(lr, lo, s, T, W), lo + 0.5 * (lr - lo) * (1 + std::cos(M_PI * p)), 1e-15) << s;
        EXPECT_LE(lrAt(lr, lo, s + 1, T, W), lrAt(lr, lo, s, T, W));  // never rises after warm-up
    }
    EXPECT_DOUBLE_EQ(lrAt(lr, lo, 0, T, 0), lr);  // no warm-up
}

TEST(StepMath, SmoothedTargetsSumToOneWithTheRightMass) {
    auto y = torch::tensor({2, 0}, torch::kLong);
    auto t = smoothOneHot(y, 5, 0.1, torch::TensorOptions().dtype(torch::kFloat));
    EXPECT_NEAR(t[0][2].item<double>(), 0.9 + 0.1 / 5, 1e-7);
    EXPECT_NEAR(t[0][1].item<double>(), 0.1 / 5, 1e-7);
    EXPECT_TRUE(torch::allclose(t.sum(1), torch::ones({2})));
}

TEST(StepMath, MixupBlendsImagesAndTargetsWithOneLambda) {
    std::mt19937_64 rng(7);
    auto x0 = torch::rand({4, 1, 8, 8});
    auto y = torch::tensor({0, 1, 2, 3}, torch::kLong);
    auto x = x0.clone();
    const auto m = mixBatch(x, y, 4, {0.8, 0.0, 0.0}, rng);
    ASSERT_FALSE(m.cutmix);
    EXPECT_GT(m.lambda, 0.0);
    EXPECT_LT(m.lambda, 1.0);
    // x = lambda x + (1 - lambda) x reversed; targets likewise.
    EXPECT_TRUE(torch::allclose(x, x0 * m.lambda + x0.flip(0) * (1 - m.lambda), 1e-6, 1e-6));
    EXPECT_NEAR(m.target[0][0].item<double>(), m.lambda, 1e-6);
    EXPECT_NEAR(m.target[0][3].item<double>(), 1 - m.lambda, 1e-6);
    EXPECT_TRUE(torch::allclose(m.target.sum(1), torch::ones({4})));
    // Mean of Beta(a, a) is 1/2: over many draws, lambda averages 0.5.
    double sum = 0;
    for (int i = 0; i < 2000; ++i) {
        auto xi = x0.clone();
        sum += mixBatch(xi, y, 4, {0.8, 0.0, 0.0}, rng).lambda;
    }
    EXPECT_NEAR(sum / 2000, 0.5, 0.03);
}

TEST(StepMath, CutMixPastesOneBoxAndWeighsTargetsByItsArea) {
    std::mt19937_64 rng(11);
    auto x0 = torch::arange(2 * 1 * 10 * 12, torch::kFloat).reshape({2, 1, 10, 12});
    auto y = torch::tensor({0, 1}, torch::kLong);
    int cut = 0;
    for (int i = 0; i < 50; ++i) {
        auto x = x0.clone();
        const auto m = mixBatch(x, y, 2, {0.0, 1.0, 0.0}, rng);
        ASSERT_TRUE(m.cutmix);
        const auto area = double((m.y2 - m.y1) * (m.x2 - m.x1));
        EXPECT_DOUBLE_EQ(m.lambda, 1.0 - area / (10 * 12));  // corrected to the clipped box
        using torch::indexing::Slice;
        auto inBox = torch::zeros({10, 12}, torch::kBool);
        inBox.index_put_({Slice(m.y1, m.y2), Slice(m.x1, m.x2)}, true);
        // Inside the box: the partner's pixels; outside: the image's own.
        EXPECT_TRUE(torch::equal(x[0][0].masked_select(inBox), x0[1][0].masked_select(inBox)));
        EXPECT_TRUE(torch::equal(x[0][0].masked_select(~inBox), x0[0][0].masked_select(~inBox)));
        EXPECT_NEAR(m.target[0][0].item<double>(), m.lambda, 1e-6);
        cut += area > 0;
    }
    EXPECT_GT(cut, 25);
    // With both on, each batch is one or the other, about half each (timm's switch prob 0.5).
    int cuts = 0;
    for (int i = 0; i < 1000; ++i) {
        auto x = x0.clone();
        cuts += mixBatch(x, y, 2, {0.8, 1.0, 0.0}, rng).cutmix;
    }
    EXPECT_NEAR(cuts, 500, 60);
    // Both off: the smoothed targets, the images untouched.
    auto x = x0.clone();
    const auto none = mixBatch(x, y, 2, {0.0, 0.0, 0.2}, rng);
    EXPECT_TRUE(torch::equal(x, x0));
    EXPECT_NEAR(none.target[0][0].item<double>(), 0.9, 1e-6);
}

TEST(StepMath, LossScalerUnscalesBacksOffAndGrowsLikeGradScaler) {
    LossScaler s(1024.0, 2.0, 0.5, 3);
    auto w = torch::ones({3}, torch::requires_grad());
    auto grad = [&](double v) {
        w.mutable_grad() = torch::full({3}, v);
        return std::vector<torch::Tensor>{w};
    };
    EXPECT_DOUBLE_EQ(s.scale(torch::tensor(2.0)).item<double>(), 2048.0);
    ASSERT_TRUE(s.unscaleAndUpdate(grad(512.0)));
    EXPECT_TRUE(torch::allclose(w.grad(), torch::full({3}, 0.5)));  // divided by the scale
    EXPECT_DOUBLE_EQ(s.value(), 1024.0);
    ASSERT_TRUE(s.unscaleAndUpdate(grad(1.0)));
    ASSERT_TRUE(s.unscaleAndUpdate(grad(1.0)));  // the 3rd finite step in a row
    EXPECT_DOUBLE_EQ(s.value(), 2048.0);         // grows
    EXPECT_EQ(s.goodSteps(), 0);
    EXPECT_FALSE(s.unscaleAndUpdate(grad(INFINITY)));  // overflow: skip, back off, grads cleared
    EXPECT_DOUBLE_EQ(s.value(), 1024.0);
    EXPECT_FALSE(w.grad().defined());
    EXPECT_FALSE(s.unscaleAndUpdate(grad(NAN)));
    EXPECT_DOUBLE_EQ(s.value(), 512.0);
    ASSERT_TRUE(s.unscaleAndUpdate(grad(1.0)));
    ASSERT_TRUE(s.unscaleAndUpdate(grad(1.0)));
    EXPECT_DOUBLE_EQ(s.value(), 512.0);  // the count restarted after the overflow
    ASSERT_TRUE(s.unscaleAndUpdate(grad(1.0)));
    EXPECT_DOUBLE_EQ(s.value(), 1024.0);
    LossScaler d;  // GradScaler's defaults
    EXPECT_DOUBLE_EQ(d.value(), 65536.0);
}
