// train/schedule.h and dilution itself: lambda's schedule (endpoints, monotone, per-step and
// per-epoch updates), no gradient through a block at lambda 0, and its output equal to the removed block's.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "model/preset.h"
#include "model/vit.h"
#include "train/schedule.h"
#include "util/error.h"

using namespace dilute;
using namespace dilute::train;

TEST(Schedule, EndpointsMonotonicAndUpdateModes) {
    DilutionSchedule s;
    s.start = 1;
    s.end = 3;  // epochs
    const long long spe = 10;
    EXPECT_EQ(s.lambdaAt(0, spe, 4), 1.0);
    EXPECT_EQ(s.lambdaAt(10, spe, 4), 1.0);
    EXPECT_NEAR(s.lambdaAt(20, spe, 4), 0.5, 1e-12);
    EXPECT_EQ(s.lambdaAt(30, spe, 4), 0.0);
    EXPECT_EQ(s.lambdaAt(39, spe, 4), 0.0);
    double prev = 1.0;
    for (long long t = 0; t < 40; ++t) {
        const double l = s.lambdaAt(t, spe, 4);
        EXPECT_LE(l, prev);
        EXPECT_GE(l, 0.0);
        prev = l;
    }
    EXPECT_NEAR(s.lambdaAt(15, spe, 4), 0.75, 1e-12);  // per step: moves inside an epoch
    s.per_step = false;
    EXPECT_NEAR(s.lambdaAt(15, spe, 4), 1.0, 1e-12);  // per epoch: constant inside an epoch
    EXPECT_NEAR(s.lambdaAt(25, spe, 4), 0.5, 1e-12);
    s.shape = "cosine";
    s.per_step = true;
    EXPECT_NEAR(s.lambdaAt(15, spe, 4), 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-12);
    DilutionSchedule authors;  // end < 0: 3/4 of the run
    authors.per_step = false;
    EXPECT_NEAR(authors.lambdaAt(100 * 10, 10, 400), 1.0 - 100.0 / 300.0, 1e-12);
    EXPECT_EQ(authors.lambdaAt(300 * 10, 10, 400), 0.0);
    DilutionSchedule steps;
    steps.unit = "steps";
    steps.end = 8;
    EXPECT_NEAR(steps.lambdaAt(2, 100, 1), 0.75, 1e-12);
    DilutionSchedule bad;
    bad.shape = "step";
    EXPECT_THROW(bad.validate(), Error);
}

TEST(Dilution, NoGradientAtLambdaZeroAndOutputEqualsRemoved) {
    auto cfg = model::preset("vit_nano_patch7_28");
    auto m = model::buildModel(cfg);
    m->initWeights(1);
    m->train();
    m->block(2)->setLambda(0.0);
    m->block(4)->setLambda(0.3);
    auto x = torch::randn({4, 1, 28, 28});
    m->forward(x).sum().backward();
    for (auto* p : {&m->block(2)->attn->qkv->weight, &m->block(2)->attn->proj->weight, &m->block(2)->norm1->weight}) {
        EXPECT_TRUE(!p->grad().defined() || p->grad().abs().sum().item<double>() == 0.0);
    }
    EXPECT_GT(m->block(4)->attn->qkv->weight.grad().abs().sum().item<double>(), 0.0);
    EXPECT_GT(m->block(2)->mlp->fc1->weight.grad().abs().sum().item<double>(), 0.0);
    m->eval();
    auto diluted = m->forward(x);
    m->block(4)->setLambda(1.0);
    auto a = m->forward(x);
    m->removeAttention({2}, false);
    EXPECT_TRUE(torch::allclose(a, m->forward(x), 1e-5, 1e-6));
    EXPECT_FALSE(torch::allclose(a, diluted));
}
