// The direct libjpeg-turbo path of folder datasets (data/jpeg.h): same pixels as OpenCV, bands of
// rows equal to the full decode, the loader's output unchanged by band decoding, and the files it
// hands to OpenCV (EXIF-rotated, CMYK) or refuses (truncated, corrupt, empty).
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <jpeglib.h>
#include <cstdio>
#include <cstdlib>

#include "core/test_util.h"
#include "data/dataset.h"
#include "data/jpeg.h"
#include "data/loader.h"
#include "data/transforms.h"
#include "util/error.h"

using namespace dilute;
using namespace dilute::data;
using dilute::testing::TempDir;
using dilute::testing::writeBytes;

namespace {

// A textured picture (JPEG artefacts everywhere, not flat colour).
cv::Mat picture(int h, int w, int type, int seed) {
    cv::Mat m(h, w, type);
    cv::RNG rng(seed);
    rng.fill(m, cv::RNG::UNIFORM, 0, 256);
    cv::GaussianBlur(m, m, cv::Size(5, 5), 1.5);
    cv::circle(m, cv::Point(w / 3, h / 2), std::min(h, w) / 4, cv::Scalar(250, 30, 120), -1);
    return m;
}

std::vector<uint8_t> encode(const cv::Mat& m, std::vector<int> params = {cv::IMWRITE_JPEG_QUALITY, 92}) {
    std::vector<uint8_t> buf;
    EXPECT_TRUE(cv::imencode(".jpg", m, buf, params));
    return buf;
}

// OpenCV's decode of the same bytes, as RGB (our path's channel order).
cv::Mat opencvRgb(const std::vector<uint8_t>& bytes) {
    cv::Mat bgr = cv::imdecode(bytes, cv::IMREAD_COLOR), rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return rgb;
}

cv::Mat asMat(const ImageU8& im) {
    return cv::Mat(im.height, im.width, CV_8UC3, const_cast<uint8_t*>(im.pixels.data())).clone();
}

bool samePixels(const cv::Mat& a, const cv::Mat& b) {
    return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// Splices an APP1 EXIF segment with the given orientation right after SOI (big-endian TIFF).
std::vector<uint8_t> withOrientation(const std::vector<uint8_t>& jpg, int orientation) {
    const std::vector<uint8_t> payload = {'E',  'x',  'i', 'f', 0, 0, 'M', 'M', 0, 42,
                                          0,    0,    0,   8,  // TIFF header
                                          0,    1,             // one entry
                                          0x01, 0x12, 0,   3,   0, 0, 0,   1,   0, uint8_t(orientation),
                                          0,    0,    0,   0,   0, 0};  // no next IFD
    const size_t len = payload.size() + 2;
    std::vector<uint8_t> out = {jpg[0], jpg[1], 0xFF, 0xE1, uint8_t(len >> 8), uint8_t(len & 0xFF)};
    out.reserve(jpg.size() + len + 2);
    for (uint8_t b : payload) out.push_back(b);
    for (size_t i = 2; i < jpg.size(); ++i) out.push_back(jpg[i]);
    return out;
}

// Encodes interleaved 8-bit pixels with libjpeg, for what OpenCV 4.6 cannot write: CMYK input, or
// chosen luma sampling factors (hs x vs; 0 keeps libjpeg's default, 2x2 = 4:2:0 for YCbCr).
std::vector<uint8_t> libjpegEncode(const cv::Mat& pixels, J_COLOR_SPACE space, int hs = 0, int vs = 0) {
    jpeg_compress_struct c;
    jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char* buf = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = JDIMENSION(pixels.cols);
    c.image_height = JDIMENSION(pixels.rows);
    c.input_components = pixels.channels();
    c.in_color_space = space;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 92, TRUE);
    if (hs > 0) c.comp_info[0].h_samp_factor = hs;
    if (vs > 0) c.comp_info[0].v_samp_factor = vs;
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; y < pixels.rows; ++y) {
        JSAMPROW r = const_cast<uint8_t*>(pixels.ptr<uint8_t>(y));
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    std::vector<uint8_t> out(buf, buf + size);
    std::free(buf);
    jpeg_destroy_compress(&c);
    return out;
}

// 1x1 = 4:4:4, 2x1 = 4:2:2, 1x2 = 4:4:0 (vertical chroma upsampling: the case where skipped rows matter).
std::vector<uint8_t> sampledJpeg(const cv::Mat& rgb, int hs, int vs) { return libjpegEncode(rgb, JCS_RGB, hs, vs); }

std::vector<uint8_t> cmykJpeg(int w, int h) {
    cv::Mat cmyk(h, w, CV_8UC4);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < 4; ++k) cmyk.ptr<uint8_t>(y)[x * 4 + k] = uint8_t((x * 3 + y * 5 + k * 60) & 0xFF);
    return libjpegEncode(cmyk, JCS_CMYK);
}

// A folder dataset holding `files` (name -> bytes) in one class.
DatasetPtr folderOf(const TempDir& d, const std::vector<std::pair<std::string, std::vector<uint8_t>>>& files) {
    for (const auto& f : files) writeBytes(d.path() + "/train/only/" + f.first, f.second);
    return openDataset("folder:" + d.path(), "train");
}

}  // namespace

TEST(Jpeg, SamePixelsAsOpenCV) {
    TempDir d("jpeg-same");
    const std::vector<std::pair<std::string, std::vector<uint8_t>>> files = {
        {"a_color.jpg", encode(picture(224, 224, CV_8UC3, 1))},
        {"b_odd_size.jpg", encode(picture(53, 37, CV_8UC3, 2))},
        {"c_gray.jpg", encode(picture(40, 64, CV_8UC1, 3))},
        {"d_progressive.jpg", encode(picture(96, 80, CV_8UC3, 4), {cv::IMWRITE_JPEG_PROGRESSIVE, 1})},
        {"e_restarts.jpg", encode(picture(64, 64, CV_8UC3, 5), {cv::IMWRITE_JPEG_RST_INTERVAL, 2})},
    };
    auto ds = folderOf(d, files);
    ASSERT_EQ(ds->size(), files.size());
    for (size_t i = 0; i < files.size(); ++i) {
        const ImageU8 im = ds->image(i);
        EXPECT_FALSE(im.bgr) << files[i].first;  // decoded straight to RGB
        EXPECT_EQ(im.top, 0);
        EXPECT_EQ(im.fullHeight(), im.height);
        EXPECT_TRUE(samePixels(asMat(im), opencvRgb(files[i].second))) << files[i].first;
    }
}

TEST(Jpeg, BandOfRowsEqualsThoseRowsOfTheFullDecode) {
    const cv::Mat pic = picture(120, 90, CV_8UC3, 7);
    const std::vector<std::pair<std::string, std::vector<uint8_t>>> kinds = {
        {"4:2:0", encode(pic)},
        {"4:2:0 progressive", encode(pic, {cv::IMWRITE_JPEG_PROGRESSIVE, 1})},
        {"4:4:4", sampledJpeg(pic, 1, 1)},
        {"4:2:2", sampledJpeg(pic, 2, 1)},
        {"4:4:0", sampledJpeg(pic, 1, 2)},
    };
    for (const auto& kind : kinds) {
        const auto& bytes = kind.second;
        const cv::Mat full = opencvRgb(bytes);
        for (auto band : std::vector<std::pair<int, int>>{{0, 1}, {0, 120}, {1, 17}, {33, 40}, {64, 56}, {119, 1}}) {
            ImageU8 im;
            int calls = 0;
            ASSERT_TRUE(decodeJpeg(
                bytes.data(), bytes.size(), "band.jpg",
                [&](int w, int h) {
                    ++calls;
                    EXPECT_EQ(w, 90);
                    EXPECT_EQ(h, 120);
                    return band;
                },
                im));
            EXPECT_EQ(calls, 1);
            EXPECT_EQ(im.top, band.first);
            EXPECT_EQ(im.height, band.second);
            EXPECT_EQ(im.full_height, 120);
            EXPECT_TRUE(samePixels(asMat(im), full(cv::Rect(0, band.first, 90, band.second))))
                << "rows " << band.first << "+" << band.second << " " << kind.first;
        }
        // Out-of-range requests are clamped to the image, never read past it.
        ImageU8 im;
        ASSERT_TRUE(decodeJpeg(
            bytes.data(), bytes.size(), "band.jpg", [](int, int) { return std::make_pair(100, 500); }, im));
        EXPECT_EQ(im.top, 100);
        EXPECT_EQ(im.height, 20);
    }
}

TEST(Jpeg, LoaderOutputDoesNotDependOnBandDecoding) {
    // The loader decodes only the crop's rows; the result must equal the transform of the whole image.
    TempDir d("jpeg-loader");
    std::vector<std::pair<std::string, std::vector<uint8_t>>> files;
    for (int i = 0; i < 12; ++i)
        files.push_back(
            {"img" + std::to_string(10 + i) + ".jpg", encode(picture(70 + 3 * i, 96 - 2 * i, CV_8UC3, 20 + i))});
    auto ds = folderOf(d, files);
    TransformConfig t = trainTransform(model::preset("vit_micro_patch4_32"), "rrc+flip");
    t.rrc_scale_min = 0.08;  // small crops: bands well inside the image
    LoaderOptions o;
    o.batch_size = 5;
    o.workers = 2;
    o.seed = 3;
    Loader loader(ds, t, o);
    loader.startEpoch(1);
    Batch b;
    const size_t per = 3 * 32 * 32;
    size_t seen = 0;
    while (loader.next(b)) {
        for (size_t k = 0; k < b.indices.size(); ++k) {
            const size_t idx = b.indices[k];
            std::vector<float> expect(per);
            std::mt19937_64 rng(sampleSeed(o.seed, 1, idx));
            applyTransform(ds->image(idx), t, rng, expect.data());
            const float* got = b.images.data_ptr<float>() + k * per;
            EXPECT_TRUE(std::equal(expect.begin(), expect.end(), got)) << "image " << idx;
            ++seen;
        }
    }
    EXPECT_EQ(seen, files.size());
}

TEST(Jpeg, BadFilesAreNamedAndSkippedConsistently) {
    TempDir d("jpeg-bad");
    auto good = encode(picture(64, 64, CV_8UC3, 9));
    auto truncated = std::vector<uint8_t>(good.begin(), good.begin() + long(good.size() * 6 / 10));
    auto corrupt = good;  // the frame header says 0 x 0 pixels
    for (size_t i = 0; i + 9 < corrupt.size(); ++i)
        if (corrupt[i] == 0xFF && corrupt[i + 1] == 0xC0) {
            std::fill(corrupt.begin() + long(i) + 5, corrupt.begin() + long(i) + 9, 0);
            break;
        }
    auto ds = folderOf(
        d, {{"a_good.jpg", good}, {"b_truncated.jpg", truncated}, {"c_corrupt.jpg", corrupt}, {"d_empty.jpg", {}}});
    EXPECT_NO_THROW(ds->image(0));
    auto expectError = [&](size_t i, const std::string& what) {
        for (bool band : {false, true}) {  // the same answer whichever rows are asked for
            try {
                if (band)
                    ds->imageRows(i, [](int, int) { return std::make_pair(0, 2); });
                else
                    ds->image(i);
                ADD_FAILURE() << "no error for " << ds->source(i);
            } catch (const Error& e) {
                const std::string w = e.what();
                EXPECT_NE(w.find(ds->source(i)), std::string::npos) << w;
                EXPECT_NE(w.find(what), std::string::npos) << w;
            }
        }
    };
    expectError(1, "truncated");
    expectError(2, "cannot decode");
    expectError(3, "empty file");

    LoaderOptions o;
    o.batch_size = 4;
    o.workers = 2;
    Loader loader(ds, trainTransform(model::preset("vit_micro_patch4_32"), "rrc+flip"), o);
    loader.startEpoch(0);
    Batch b;
    ASSERT_TRUE(loader.next(b));
    EXPECT_EQ(b.images.size(0), 1);
    EXPECT_EQ(loader.skipped().count, 3);
    loader.startEpoch(1);  // a second epoch skips the same files again: counted, not listed twice
    while (loader.next(b)) EXPECT_EQ(b.images.size(0), 1);
    const auto sk = loader.skipped();
    EXPECT_EQ(sk.count, 6);
    EXPECT_EQ(sk.files, 3);
    EXPECT_EQ(sk.examples.size(), 3u);
    EXPECT_NE(sk.message().find("6 undecodable images skipped (3 files)"), std::string::npos) << sk.message();
    EXPECT_EQ(SkipReport{}.message(), "");
}

TEST(Jpeg, ExifOrientationAndCmykGoThroughOpenCV) {
    const auto plain = encode(picture(30, 50, CV_8UC3, 11));
    const auto rotated = withOrientation(plain, 6);
    // The parser, both byte orders.
    EXPECT_EQ(exifOrientation(rotated.data() + 6, rotated.size() - 6), 6);
    const std::vector<uint8_t> le = {'E',  'x',  'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0,
                                     0x12, 0x01, 3,   0,   1, 0, 0,   0,   3,  0, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(exifOrientation(le.data(), le.size()), 3);
    EXPECT_EQ(exifOrientation(le.data(), 12), 1);  // cut short: no orientation
    ImageU8 im;
    EXPECT_FALSE(decodeJpeg(rotated.data(), rotated.size(), "r.jpg", nullptr, im));
    EXPECT_TRUE(decodeJpeg(withOrientation(plain, 1).data(), withOrientation(plain, 1).size(), "r.jpg", nullptr, im));

    TempDir d("jpeg-fallback");
    const auto cmyk = cmykJpeg(40, 24);
    EXPECT_FALSE(decodeJpeg(cmyk.data(), cmyk.size(), "cmyk.jpg", nullptr, im));
    auto ds = folderOf(d, {{"a_rotated.jpg", rotated}, {"b_cmyk.jpg", cmyk}});
    for (size_t i = 0; i < 2; ++i) {
        const ImageU8 got = ds->image(i);
        const cv::Mat want = cv::imread(ds->source(i), cv::IMREAD_COLOR);  // what OpenCV makes of it
        EXPECT_TRUE(got.bgr);
        EXPECT_TRUE(samePixels(asMat(got), want)) << ds->source(i);
    }
    EXPECT_EQ(ds->image(0).width, 30);  // orientation 6: rotated a quarter turn, as OpenCV does
    EXPECT_EQ(ds->image(0).height, 50);
}
