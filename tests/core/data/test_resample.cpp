// Pillow-exact resampling and timm's eval / random-resized-crop geometry: checked against Pillow
// itself (Debian's python3-pil, tests/reference/pil_transforms.py) on a real photograph
// (matplotlib's sample grace_hopper.jpg, Debian package python-matplotlib-data), cut to sizes
// that exercise downscaling, upscaling, odd sizes and the 224 -> 248 -> 224 round trip.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#if DILUTE_WITH_OPENCV
#include "data/jpeg.h"
#endif
#include "core/test_util.h"
#include "data/resample.h"
#include "data/transforms.h"
#include "util/error.h"

using namespace dilute::data;
using dilute::testing::TempDir;

namespace {

[[maybe_unused]] const char* kPhoto = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";

[[maybe_unused]] ImageU8 cut(const ImageU8& im, int x, int y, int w, int h) {
    ImageU8 r;
    r.width = w;
    r.height = h;
    r.channels = im.channels;
    r.pixels.resize(size_t(w) * h * im.channels);
    for (int row = 0; row < h; ++row)
        std::copy_n(&im.pixels[(size_t(y + row) * im.width + x) * im.channels], size_t(w) * im.channels,
                    &r.pixels[size_t(row) * w * im.channels]);
    return r;
}

// The transform's output as bytes: mean 0, std 1/255 make the normalisation the identity.
[[maybe_unused]] std::vector<uint8_t> render(const ImageU8& im, const TransformPlan& p, int S, int C, int resize,
                                             const std::string& filter) {
    TransformConfig t;
    t.out_size = S;
    t.channels = C;
    t.resize = resize;
    t.interpolation = filter;
    t.mean.assign(C, 0.0);
    t.std.assign(C, 1.0 / 255.0);
    std::vector<float> out(size_t(C) * S * S);
    renderTransform(im, p, t, out.data());
    std::vector<uint8_t> hwc(out.size());
    for (int c = 0; c < C; ++c)
        for (int i = 0; i < S * S; ++i) hwc[size_t(i) * C + c] = uint8_t(std::lround(out[size_t(c) * S * S + i]));
    return hwc;
}

}  // namespace

TEST(Resample, TorchvisionSizesAndOffsets) {
    EXPECT_EQ(resizedSize(512, 600, 248), std::make_pair(248, 290));  // int(248 * 600 / 512) = 290.6 -> 290
    EXPECT_EQ(resizedSize(600, 512, 248), std::make_pair(290, 248));
    EXPECT_EQ(resizedSize(224, 224, 248), std::make_pair(248, 248));
    EXPECT_EQ(resizedSize(97, 143, 248), std::make_pair(248, 365));  // 365.6 -> 365
    EXPECT_EQ(centerCropOffset(248, 224), 12);
    EXPECT_EQ(centerCropOffset(225, 224), 0);  // round(0.5) = 0: ties to even, as Python
    EXPECT_EQ(centerCropOffset(227, 224), 2);  // round(1.5) = 2
    EXPECT_EQ(centerCropOffset(229, 224), 2);  // round(2.5) = 2
}

TEST(Resample, ConstantStaysConstantAndSameSizeIsACopy) {
    std::vector<uint8_t> px(37 * 23 * 3, 77), out(50 * 11 * 3);
    ImageView v{px.data(), 37, 23, 3};
    for (auto f : {ResampleFilter::Bilinear, ResampleFilter::Bicubic}) {
        resample(v, 0, 0, 37, 23, 50, 11, f, out.data());
        for (uint8_t b : out) ASSERT_EQ(b, 77);  // weights sum to one in fixed point
    }
    for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(i * 31);
    std::vector<uint8_t> same(px.size());
    resample(v, 0, 0, 37, 23, 37, 23, ResampleFilter::Bicubic, same.data());
    EXPECT_EQ(same, px);
    EXPECT_THROW(resample(v, 30, 0, 10, 23, 5, 5, ResampleFilter::Bilinear, out.data()), dilute::Error);
}

#if DILUTE_WITH_OPENCV  // decodes the photograph with data/jpeg.h
TEST(Transforms, MatchPillowOnARealPhotograph) {
    if (!std::filesystem::exists(kPhoto)) GTEST_SKIP() << kPhoto << " missing (python-matplotlib-data)";
    if (std::system("/usr/bin/python3 -c 'import PIL' 2>/dev/null") != 0) GTEST_SKIP() << "python3-pil missing";
    const auto bytes = dilute::testing::readBytes(kPhoto);
    ImageU8 photo;
    ASSERT_TRUE(decodeJpeg(
        bytes.data(), bytes.size(), kPhoto, [](int, int h) { return std::make_pair(0, h); }, photo));
    ASSERT_EQ(photo.width, 512);
    ASSERT_EQ(photo.height, 600);
    TempDir d("pil");
    struct Case {
        ImageU8 img;
        TransformPlan plan;
        int S, C, resize;
        std::string filter, line;
    };
    std::vector<Case> cases;
    std::ostringstream manifest;
    auto add = [&](const ImageU8& im, TransformPlan p, int S, int C, int resize, const std::string& filter) {
        const std::string n = std::to_string(cases.size());
        dilute::testing::writeBytes(d.file(n + ".raw"), im.pixels);
        std::ostringstream l;
        l << d.file(n + ".raw") << ' ' << im.width << ' ' << im.height << ' ' << im.channels << ' ';
        if (p.crop)
            l << "rrc " << p.x << ' ' << p.y << ' ' << p.w << ' ' << p.h << ' ' << S << ' ' << C << ' ' << filter;
        else
            l << "eval " << resize << ' ' << S << ' ' << filter << ' ' << C;
        l << ' ' << d.file(n + ".pil");
        manifest << l.str() << '\n';
        cases.push_back({im, p, S, C, resize, filter, l.str()});
    };
    // Eval (timm DeiT: bicubic 248 -> 224) on the whole photo and on cuts of varied sizes:
    // downscaling, upscaling (97 x 143, 60 x 45), exactly 224 (resized to 248 first), odd sizes.
    const int cutsXYWH[][4] = {{0, 0, 512, 600}, {13, 40, 333, 251}, {200, 100, 97, 143}, {50, 60, 224, 224},
                               {7, 9, 300, 248}, {100, 300, 60, 45}, {0, 1, 511, 599}};
    for (const auto& c : cutsXYWH) {
        const ImageU8 im = cut(photo, c[0], c[1], c[2], c[3]);
        TransformPlan whole;
        whole.w = im.width;
        whole.h = im.height;
        add(im, whole, 224, 3, 248, "bicubic");
        add(im, whole, 32, 3, 36, "bilinear");
        add(im, whole, 28, 1, 28, "bicubic");  // a 1-channel model: PIL's convert('L') first
    }
    // Random-resized-crop boxes, resized with the preset's filter (bicubic for DeiT, bilinear).
    const int boxes[][4] = {
        {10, 20, 300, 250}, {100, 50, 97, 143}, {0, 0, 512, 600}, {411, 500, 101, 100}, {3, 7, 30, 41}};
    for (const auto& b : boxes) {
        TransformPlan p;
        p.crop = true;
        p.x = b[0], p.y = b[1], p.w = b[2], p.h = b[3];
        add(photo, p, 224, 3, 248, "bicubic");
        add(photo, p, 32, 1, 32, "bilinear");
    }
    {
        std::ofstream m(d.file("manifest.txt"));
        m << manifest.str();
    }
    const std::string cmd =
        "/usr/bin/python3 " DILUTE_SOURCE_DIR "/tests/reference/pil_transforms.py " + d.file("manifest.txt");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    for (size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        const auto want = dilute::testing::readBytes(d.file(std::to_string(i) + ".pil"));
        const auto got = render(c.img, c.plan, c.S, c.C, c.resize, c.filter);
        ASSERT_EQ(got.size(), want.size()) << c.line;
        int worst = 0;
        size_t differ = 0;
        for (size_t k = 0; k < got.size(); ++k) {
            const int diff = std::abs(int(got[k]) - int(want[k]));
            worst = std::max(worst, diff);
            differ += diff != 0;
        }
        EXPECT_LE(worst, 1) << c.line;    // the bound
        EXPECT_EQ(differ, 0u) << c.line;  // and in fact: the same bytes
    }
}
#endif
