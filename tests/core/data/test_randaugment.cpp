// timm's RandAugment: every op against Pillow itself (Debian's python3-pil,
// tests/reference/pil_randaugment.py) on a real photograph, the draws against timm's
// definition (op frequencies, application probability, magnitude noise, signs), the config
// string, and its place in the training transform (after the flip, deterministic per seed).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#if DILUTE_WITH_OPENCV
#include "data/jpeg.h"
#endif
#include "core/test_util.h"
#include "data/randaugment.h"
#include "data/transforms.h"
#include "util/error.h"

using namespace dilute::data;
using dilute::testing::TempDir;

TEST(RandAugment, ParsesTimmConfigStrings) {
    const auto c = parseRandAugment("rand-m9-mstd0.5-inc1");
    EXPECT_EQ(c.magnitude, 9);
    EXPECT_EQ(c.layers, 2);
    EXPECT_DOUBLE_EQ(c.magnitude_std, 0.5);
    EXPECT_DOUBLE_EQ(c.prob, 0.5);
    EXPECT_TRUE(c.increasing);
    const auto d = parseRandAugment("rand-m7-n3-p0.7");
    EXPECT_EQ(d.magnitude, 7);
    EXPECT_EQ(d.layers, 3);
    EXPECT_DOUBLE_EQ(d.magnitude_std, 0.0);
    EXPECT_DOUBLE_EQ(d.prob, 0.7);
    EXPECT_FALSE(d.increasing);
    EXPECT_TRUE(std::isinf(parseRandAugment("rand-mstd101").magnitude_std));  // timm: uniform sampling
    EXPECT_EQ(parseRandAugment(c.spec()).magnitude, 9);
    for (const char* bad : {"", "auto-m9", "rand-x9", "rand-m", "rand-n0", "rand-p2", "rand-m9--inc1", "randm9"})
        EXPECT_THROW(parseRandAugment(bad), dilute::Error) << bad;
}

TEST(RandAugment, DrawsFollowTimm) {
    RandAugmentConfig c = parseRandAugment("rand-m9-mstd0.5-inc1");
    std::mt19937_64 rng(42);
    const int N = 30000;
    std::map<AugOp, int> count;
    long long applied = 0, negRot = 0, rot = 0;
    double rotAbs = 0;
    for (int i = 0; i < N; ++i) {
        const auto ops = planRandAugment(c, rng);
        ASSERT_LE(ops.size(), 2u);
        applied += ops.size();
        for (const auto& s : ops) {
            ++count[s.op];
            switch (s.op) {
                case AugOp::Rotate:
                    ++rot, negRot += s.arg < 0, rotAbs += std::fabs(s.arg);
                    EXPECT_LE(std::fabs(s.arg), 30.0);
                    break;
                case AugOp::Posterize:
                    EXPECT_TRUE(s.arg == 1 || s.arg == 0 || s.arg == 2) << s.arg;
                    break;  // 4 - int(0.9 * 4)
                case AugOp::Solarize:
                    EXPECT_GE(s.arg, 0);
                    EXPECT_LE(s.arg, 256);
                    break;
                case AugOp::SolarizeAdd: EXPECT_LE(s.arg, 110); break;
                case AugOp::Color:
                case AugOp::Contrast:
                case AugOp::Brightness:
                case AugOp::Sharpness:
                    EXPECT_GE(s.arg, 0.1);
                    EXPECT_LE(s.arg, 1.9);
                    EXPECT_GT(std::fabs(s.arg - 1.0), 0.5);  // m ~ 9: far from 'no change'
                    break;
                case AugOp::ShearX:
                case AugOp::ShearY: EXPECT_LE(std::fabs(s.arg), 0.3); break;
                case AugOp::TranslateXRel:
                case AugOp::TranslateYRel: EXPECT_LE(std::fabs(s.arg), 0.45); break;
                default: EXPECT_EQ(s.arg, 0); break;
            }
        }
    }
    // 2 layers x p 0.5: one op per image on average; 15 ops alike.
    EXPECT_NEAR(double(applied) / N, 1.0, 0.02);
    EXPECT_EQ(count.size(), 15u);
    for (const auto& [op, n] : count) EXPECT_NEAR(double(n) / applied, 1.0 / 15, 0.01) << augOpName(op);
    // Magnitude ~ N(9, 0.5) clipped at 10: |degrees| = 3 m on average ~ 27.
    EXPECT_NEAR(rotAbs / rot, 27.0, 0.3);
    EXPECT_NEAR(double(negRot) / rot, 0.5, 0.05);
    // Without noise the magnitude is exact.
    c.magnitude_std = 0;
    c.prob = 1.0;
    for (int i = 0; i < 200; ++i)
        for (const auto& s : planRandAugment(c, rng)) {
            if (s.op == AugOp::Rotate) EXPECT_NEAR(std::fabs(s.arg), 27.0, 1e-12);
            if (s.op == AugOp::Solarize) EXPECT_EQ(s.arg, 256 - int(0.9 * 256));
            if (s.op == AugOp::SolarizeAdd) EXPECT_EQ(s.arg, 99);
        }
}

TEST(RandAugment, OpsHoldTheirDefiningProperties) {
    // A gradient: autocontrast stretches it to 0..255, invert twice is the identity, equalize
    // flattens the histogram of a skewed ramp, brightness 0 is black, contrast 0 the mean grey.
    const int w = 16, h = 8;
    std::vector<uint8_t> img(w * h);
    for (int i = 0; i < w * h; ++i) img[i] = uint8_t(100 + i / 4);
    const uint8_t fill[3] = {7, 7, 7};
    auto run = [&](AugOp op, double arg, std::vector<uint8_t> p) {
        applyAugment({op, arg}, p.data(), w, h, 1, fill, true);
        return p;
    };
    const auto ac = run(AugOp::AutoContrast, 0, img);
    EXPECT_EQ(*std::min_element(ac.begin(), ac.end()), 0);
    EXPECT_EQ(*std::max_element(ac.begin(), ac.end()), 255);
    EXPECT_EQ(run(AugOp::Invert, 0, run(AugOp::Invert, 0, img)), img);
    const auto black = run(AugOp::Brightness, 0.0, img);
    EXPECT_EQ(*std::max_element(black.begin(), black.end()), 0);
    const auto grey = run(AugOp::Contrast, 0.0, img);
    EXPECT_EQ(std::set<uint8_t>(grey.begin(), grey.end()).size(), 1u);
    EXPECT_EQ(run(AugOp::Color, 0.3, img), img);  // a grey image has no colour to remove
    EXPECT_EQ(run(AugOp::Rotate, 0.0, img), img);
    EXPECT_EQ(run(AugOp::TranslateXRel, 0.0, img), img);
    // A full-width translation moves everything out: only the fill is left.
    const auto gone = run(AugOp::TranslateXRel, 1.0, img);
    EXPECT_EQ(std::set<uint8_t>(gone.begin(), gone.end()), std::set<uint8_t>{7});
    const auto post = run(AugOp::Posterize, 2, img);
    for (uint8_t v : post) EXPECT_EQ(v & 0x3F, 0);
    const auto sol = run(AugOp::Solarize, 128, img);
    for (size_t i = 0; i < img.size(); ++i) EXPECT_EQ(sol[i], img[i] < 128 ? img[i] : 255 - img[i]);
    EXPECT_THROW(applyAugment({AugOp::Invert, 0}, img.data(), w, h, 2, fill, true), dilute::Error);
}

#if DILUTE_WITH_OPENCV
TEST(RandAugment, OpsMatchPillowOnARealPhotograph) {
    const char* kPhoto = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";
    if (!std::filesystem::exists(kPhoto)) GTEST_SKIP() << kPhoto << " missing (python-matplotlib-data)";
    if (std::system("/usr/bin/python3 -c 'import PIL' 2>/dev/null") != 0) GTEST_SKIP() << "python3-pil missing";
    const auto bytes = dilute::testing::readBytes(kPhoto);
    ImageU8 photo;
    ASSERT_TRUE(decodeJpeg(
        bytes.data(), bytes.size(), kPhoto, [](int, int h) { return std::make_pair(0, h); }, photo));
    TempDir d("ra");
    // Cuts of the photo: a DeiT-sized square, an odd non-square one, and their grey versions.
    struct Img {
        int w, h, c;
        std::vector<uint8_t> px;
    };
    std::vector<Img> imgs;
    for (const auto& [x, y, w, h] : std::vector<std::array<int, 4>>{{100, 80, 224, 224}, {31, 200, 61, 47}}) {
        Img rgb{w, h, 3, {}}, grey{w, h, 1, {}};
        for (int r = 0; r < h; ++r)
            for (int col = 0; col < w; ++col) {
                const uint8_t* s = &photo.pixels[(size_t(y + r) * photo.width + x + col) * 3];
                uint8_t px[3] = {s[0], s[1], s[2]};
                if (photo.bgr) std::swap(px[0], px[2]);
                rgb.px.insert(rgb.px.end(), px, px + 3);
                grey.px.push_back(uint8_t((19595u * px[0] + 38470u * px[1] + 7471u * px[2] + 0x8000u) >> 16));
            }
        imgs.push_back(rgb);
        imgs.push_back(grey);
    }
    // Every op with arguments of both signs, at the ends and inside of its range.
    const std::vector<std::pair<AugOp, std::vector<double>>> ops = {{AugOp::AutoContrast, {0}},
                                                                    {AugOp::Equalize, {0}},
                                                                    {AugOp::Invert, {0}},
                                                                    {AugOp::Rotate, {27.3, -29.9, 4.1, -0.7}},
                                                                    {AugOp::Posterize, {0, 1, 4}},
                                                                    {AugOp::Solarize, {256, 26, 128, 0}},
                                                                    {AugOp::SolarizeAdd, {99, 110, 7}},
                                                                    {AugOp::Color, {0.19, 1.81, 0.5}},
                                                                    {AugOp::Contrast, {0.1, 1.9, 1.37}},
                                                                    {AugOp::Brightness, {0.23, 1.77}},
                                                                    {AugOp::Sharpness, {0.1, 1.9, 1.45}},
                                                                    {AugOp::ShearX, {0.27, -0.3, 0.013}},
                                                                    {AugOp::ShearY, {-0.27, 0.3}},
                                                                    {AugOp::TranslateXRel, {0.405, -0.45, 0.01}},
                                                                    {AugOp::TranslateYRel, {-0.405, 0.44}}};
    const uint8_t fill[3] = {124, 116, 104};  // DeiT's img_mean
    struct Case {
        size_t img;
        AugStep step;
        bool bicubic;
        std::string line;
    };
    std::vector<Case> cases;
    std::ofstream manifest(d.file("manifest.txt"));
    for (size_t i = 0; i < imgs.size(); ++i) {
        const std::string src = d.file("img" + std::to_string(i) + ".raw");
        dilute::testing::writeBytes(src, imgs[i].px);
        for (const auto& [op, args] : ops)
            for (double a : args)
                for (bool bicubic : {true, false}) {
                    const bool geometric = op == AugOp::Rotate || op == AugOp::ShearX || op == AugOp::ShearY ||
                                           op == AugOp::TranslateXRel || op == AugOp::TranslateYRel;
                    if (!bicubic && !geometric) continue;
                    std::ostringstream l;
                    l.precision(17);
                    l << src << ' ' << imgs[i].w << ' ' << imgs[i].h << ' ' << imgs[i].c << ' ' << augOpName(op) << ' '
                      << a << " 124 116 104 " << (bicubic ? "bicubic" : "bilinear") << ' '
                      << d.file(std::to_string(cases.size()) + ".pil");
                    manifest << l.str() << '\n';
                    cases.push_back({i, {op, a}, bicubic, l.str()});
                }
    }
    manifest.close();
    const std::string cmd =
        "/usr/bin/python3 " DILUTE_SOURCE_DIR "/tests/reference/pil_randaugment.py " + d.file("manifest.txt");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    size_t changed = 0;  // cases where the op did change the image (the comparison is not vacuous)
    for (size_t k = 0; k < cases.size(); ++k) {
        const auto& c = cases[k];
        auto got = imgs[c.img].px;
        applyAugment(c.step, got.data(), imgs[c.img].w, imgs[c.img].h, imgs[c.img].c, fill, c.bicubic);
        const auto want = dilute::testing::readBytes(d.file(std::to_string(k) + ".pil"));
        ASSERT_EQ(got.size(), want.size()) << c.line;
        size_t differ = 0;
        int worst = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            const int diff = std::abs(int(got[i]) - int(want[i]));
            differ += diff != 0;
            worst = std::max(worst, diff);
        }
        EXPECT_EQ(differ, 0u) << c.line << " (worst " << worst << ")";
        changed += want != imgs[c.img].px;
    }
    EXPECT_GE(cases.size(), 140u);
    EXPECT_GE(changed, cases.size() - 12) << "ops that left the image as it was: grey Color, Solarize 256, ...";
}
#endif

TEST(RandAugment, InTheTrainTransformAfterTheFlipAndSeeded) {
    auto cfg = dilute::model::preset("deit_tiny_patch16_224");
    const auto t = trainTransform(cfg, "deit");
    EXPECT_TRUE(t.rand_augment);
    EXPECT_DOUBLE_EQ(t.erase_prob, 0.25);
    EXPECT_EQ(t.rand_augment_config.magnitude, 9);
    EXPECT_TRUE(trainTransform(cfg, "default").rand_augment);  // DeiT's whole recipe at 224 px
    EXPECT_FALSE(trainTransform(cfg, "rrc+flip+erase").rand_augment);
    EXPECT_FALSE(trainTransform(dilute::model::preset("vit_nano_patch7_28"), "default").rand_augment);
    EXPECT_FALSE(evalTransform(cfg).rand_augment);
    // The draws of the other augmentations are unchanged by RandAugment (drawn last).
    std::mt19937_64 a(5), b(5);
    const auto pa = planTransform(500, 375, t, a),
               pb = planTransform(500, 375, trainTransform(cfg, "rrc+flip+erase"), b);
    EXPECT_EQ(pa.x, pb.x);
    EXPECT_EQ(pa.w, pb.w);
    EXPECT_EQ(pa.flip, pb.flip);
    EXPECT_EQ(pa.erase, pb.erase);
    // Render: the same seed, the same pixels; the flip happens before the ops (an Invert on a
    // flipped image equals the flipped inverted image, a TranslateX does not commute).
    ImageU8 im;
    im.width = 64;
    im.height = 48;
    im.channels = 3;
    im.pixels.resize(64 * 48 * 3);
    for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t((i * 7) % 251);
    TransformConfig tc;
    tc.out_size = 32;
    tc.train = true;
    tc.rand_augment = true;
    tc.mean.assign(3, 0.0);
    tc.std.assign(3, 1.0 / 255.0);
    TransformPlan p;
    p.crop = true;
    p.w = 64, p.h = 48;
    p.flip = true;
    p.augment = {{AugOp::TranslateXRel, 0.25}};
    std::vector<float> flipped(3 * 32 * 32), plain(3 * 32 * 32);
    renderTransform(im, p, tc, flipped.data());
    // The shift samples 8 columns to the right, so the fill (0 here) enters on the right: had the
    // flip come after the ops, it would be on the left.
    float left = 0;
    for (int y = 0; y < 32; ++y) {
        for (int x = 24; x < 32; ++x) EXPECT_EQ(flipped[y * 32 + x], 0.0f) << y << "," << x;
        left += flipped[y * 32];
    }
    EXPECT_GT(left, 0.0f);
    p.flip = false;
    renderTransform(im, p, tc, plain.data());
    EXPECT_NE(flipped, plain);
}
