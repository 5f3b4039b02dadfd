// data/transforms.h: grey to RGB, resize and crop, normalisation and mirroring at every size, and
// random erasing as timm defines it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "core/test_util.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/memory_dataset.h"
#include "data/transforms.h"
#include "model/preset.h"
#include "util/error.h"

using namespace dilute;
using namespace dilute::data;
using dilute::testing::TempDir;
using dilute::testing::writeIdx;

TEST(Transforms, GrayToRgbAndResizeCrop) {
    ImageU8 im;
    im.height = 40;
    im.width = 60;
    im.channels = 1;
    im.pixels.assign(40 * 60, 128);
    TransformConfig t;
    t.out_size = 32;
    t.resize = 36;
    t.channels = 3;
    t.mean = {0.5, 0.5, 0.5};
    t.std = {0.5, 0.5, 0.5};
    std::vector<float> out(3 * 32 * 32);
    std::mt19937_64 rng(1);
    applyTransform(im, t, rng, out.data());
    for (float v : out) EXPECT_NEAR(v, (128 / 255.0 - 0.5) / 0.5, 1e-5);
}

TEST(Transforms, NormalizeAndMirrorMatchTheFormulaAtEverySize) {
    // 224 px planes take the streaming-store path, 28 and 40 px ones a plain loop; both must
    // give (v / 255 - mean) / std, mirrored when the plan says so, for every pixel.
    for (int S : {224, 28, 40, 64}) {
        ImageU8 im;
        im.height = im.width = S;
        im.channels = 3;
        im.pixels.resize(size_t(S) * S * 3);
        for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t((i * 37 + i / 7) & 0xFF);
        TransformConfig t;
        t.out_size = S;
        t.resize = S;  // no resize: the plane conversion alone
        t.channels = 3;
        t.train = false;
        for (bool flip : {false, true}) {
            TransformPlan p;
            p.w = p.h = S;
            p.flip = flip;
            std::vector<float> out(size_t(3) * S * S, -99.f);
            renderTransform(im, p, t, out.data());
            double worst = 0;
            for (int c = 0; c < 3; ++c)
                for (int y = 0; y < S; ++y)
                    for (int x = 0; x < S; ++x) {
                        const int sx = flip ? S - 1 - x : x;
                        const double v = im.pixels[(size_t(y) * S + sx) * 3 + c];
                        const double want = (v / 255.0 - t.mean[c]) / t.std[c];
                        worst = std::max(worst, std::abs(out[(size_t(c) * S + y) * S + x] - want));
                    }
            EXPECT_LT(worst, 1e-5) << "size " << S << (flip ? " mirrored" : "");
        }
    }
}

TEST(Transforms, RandomErasingFollowsTimmsDefinition) {
    // DeiT's augmentation: with probability 0.25 one box of 2%..1/3 of the image, aspect ratio
    // 0.3..3.3, becomes N(0, 1) noise (after normalising); nothing else changes.
    auto cfg = model::preset("deit_tiny_patch16_224");
    // Erasing alone (the default, "deit", adds RandAugment, which changes a constant image too).
    const auto t = trainTransform(cfg, "rrc+flip+erase");
    ASSERT_DOUBLE_EQ(t.erase_prob, 0.25);
    ASSERT_DOUBLE_EQ(trainTransform(cfg, "default").erase_prob, 0.25);
    EXPECT_DOUBLE_EQ(trainTransform(model::preset("vit_nano_patch7_28"), "default").erase_prob, 0.0);
    const int n = 4000;
    int erased = 0;
    double sum = 0, sq = 0;
    long long cnt = 0;
    for (int i = 0; i < n; ++i) {
        std::mt19937_64 rng(sampleSeed(5, 0, size_t(i)));
        const auto p = planTransform(300, 260, t, rng);
        if (!p.erase) continue;
        ++erased;
        const double frac = double(p.ew) * p.eh / (224.0 * 224.0), ratio = double(p.eh) / p.ew;
        EXPECT_GE(frac, 0.018);  // rounding of the sides
        EXPECT_LE(frac, 1.0 / 3.0 + 0.01);
        EXPECT_GE(ratio, 0.3 * 0.9);
        EXPECT_LE(ratio, 1 / 0.3 * 1.1);
        EXPECT_LT(p.ex + p.ew, 225);
        EXPECT_LT(p.ey + p.eh, 225);
        if (erased <= 20) {  // the noise: render a constant image, look inside and outside the box
            ImageU8 im;
            im.width = 300;
            im.height = 260;
            im.channels = 3;
            im.pixels.assign(size_t(300) * 260 * 3, 128);
            std::vector<float> out(3 * 224 * 224);
            renderTransform(im, p, t, out.data());
            const float outside = (128 / 255.0f - float(t.mean[0])) / float(t.std[0]);
            for (int y = 0; y < 224; ++y)
                for (int x = 0; x < 224; ++x) {
                    const float v = out[size_t(y) * 224 + x];
                    const bool in = x >= p.ex && x < p.ex + p.ew && y >= p.ey && y < p.ey + p.eh;
                    if (in) {
                        sum += v;
                        sq += double(v) * v;
                        ++cnt;
                    } else {
                        ASSERT_NEAR(v, outside, 1e-5);
                    }
                }
        }
    }
    EXPECT_NEAR(double(erased) / n, 0.25, 0.03);
    ASSERT_GT(cnt, 1000);
    EXPECT_NEAR(sum / cnt, 0.0, 0.05);  // N(0, 1): mean 0
    EXPECT_NEAR(sq / cnt, 1.0, 0.05);   // and variance 1
}
