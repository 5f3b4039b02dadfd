// analysis/entropy.h: the streaming Gaussian entropy equals the closed form whatever the batching,
// and a constant channel is floored and reported.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "analysis/entropy.h"
#include "util/error.h"

using namespace dilute;
using namespace dilute::analysis;

TEST(Entropy, MatchesGaussianClosedFormAndIgnoresBatching) {
    torch::manual_seed(0);
    const std::vector<double> sigmas{0.5, 1.0, 2.0, 3.5};
    auto x = torch::randn({400000, 4}, torch::kDouble) * torch::tensor(sigmas, torch::kDouble) + 3.0;
    GaussianEntropy all;
    all.add(x);
    double expect = 0;
    for (double s : sigmas) expect += std::log(s) + 0.5 * std::log(2 * M_PI * M_E);
    EXPECT_NEAR(all.entropy(), expect, 1e-2);  // sampling noise of 400k samples
    // Against the sample's own sigma the formula is exact: the accumulator must match it to 1e-3.
    auto sd = x.std(0, /*unbiased=*/false);
    double exact = 0;
    for (int c = 0; c < 4; ++c) exact += std::log(sd[c].item<double>()) + 0.5 * std::log(2 * M_PI * M_E);
    EXPECT_NEAR(all.entropy(), exact, 1e-3);
    EXPECT_NEAR(all.entropy(1, 2), std::log(sd[1].item<double>()) + 0.5 * std::log(2 * M_PI * M_E), 1e-9);
    auto head = x.slice(0, 0, 20000);
    GaussianEntropy whole;
    whole.add(head);
    for (int bs : {1, 7, 1000, 65536}) {
        GaussianEntropy parts;
        for (int64_t i = 0; i < 20000; i += bs) parts.add(head.slice(0, i, std::min<int64_t>(20000, i + bs)));
        EXPECT_NEAR(parts.entropy(), whole.entropy(), 1e-9) << "batch " << bs;
        EXPECT_EQ(parts.count(), 20000);
    }
    // Token features: every leading index is a sample.
    GaussianEntropy tok;
    tok.add(x.reshape({1000, 400, 4}));
    EXPECT_NEAR(tok.entropy(), all.entropy(), 1e-9);
}

TEST(Entropy, ConstantChannelIsFlooredAndReported) {
    GaussianEntropy g;
    auto x = torch::randn({100, 3});
    x.select(1, 1).fill_(2.0);
    g.add(x);
    int floored = 0;
    const double h = g.entropy(0, -1, &floored);
    EXPECT_EQ(floored, 1);
    EXPECT_TRUE(std::isfinite(h));
}
