#include <gtest/gtest.h>
#include <zlib.h>
#if DILUTE_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif
#include <torch/torch.h>

#include <set>

#include "data/dataset.h"
#include "data/loader.h"
#include "data/memory_dataset.h"
#include "data/transforms.h"
#include "model/preset.h"
#include "test_util.h"
#include "util/error.h"

using namespace dilute;
using namespace dilute::data;
using dilute::testing::TempDir;
using dilute::testing::writeBytes;

#define EXPECT_ERROR_MENTIONS(stmt, a, b)                                                     \
    try {                                                                                     \
        stmt;                                                                                 \
        ADD_FAILURE() << "no error from " #stmt;                                              \
    } catch (const dilute::Error& e) {                                                        \
        const std::string w = e.what();                                                       \
        EXPECT_NE(w.find(a), std::string::npos) << w;                                         \
        EXPECT_NE(w.find(b), std::string::npos) << w;                                         \
    }

namespace {

std::vector<uint8_t> be32(uint32_t v) { return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }

void writeIdx(const std::string& dir, const std::string& prefix, int n, int h, int w, std::vector<uint8_t> labels,
              int truncateImages = 0) {
    std::vector<uint8_t> img = be32(0x803), lab = be32(0x801);
    for (auto v : {be32(n), be32(h), be32(w)}) img.insert(img.end(), v.begin(), v.end());
    for (int i = 0; i < n * h * w - truncateImages; ++i) img.push_back(uint8_t(i * 7));
    auto nl = be32(static_cast<uint32_t>(labels.size()));
    lab.insert(lab.end(), nl.begin(), nl.end());
    lab.insert(lab.end(), labels.begin(), labels.end());
    writeBytes(dir + "/" + prefix + "-images-idx3-ubyte", img);
    writeBytes(dir + "/" + prefix + "-labels-idx1-ubyte", lab);
}

void writeCifar10(const std::string& dir, int perBatch, int badLabel = -1) {
    for (int b = 0; b <= 5; ++b) {
        std::vector<uint8_t> bytes;
        for (int i = 0; i < perBatch; ++i) {
            bytes.push_back(uint8_t(b == 1 && i == 0 && badLabel >= 0 ? badLabel : (i + b) % 10));
            for (int p = 0; p < 3072; ++p) bytes.push_back(uint8_t(p < 1024 ? 200 : p < 2048 ? 100 : 50));
        }
        writeBytes(dir + "/" + (b == 0 ? std::string("test_batch.bin") : "data_batch_" + std::to_string(b) + ".bin"),
                   bytes);
    }
}

}  // namespace

TEST(FashionMnist, RealDatasetFacts) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
    if (std::getenv("DILUTE_FASHION_MNIST_DIR")) GTEST_SKIP() << "DILUTE_FASHION_MNIST_DIR may hold a subset";
    auto train = openDataset("fashion-mnist", "train");
    auto test = openDataset("fashion-mnist", "test");
    ASSERT_EQ(train->size(), 60000u);
    ASSERT_EQ(test->size(), 10000u);
    EXPECT_EQ(train->numClasses(), 10);
    std::vector<int> perClass(10, 0);
    for (size_t i = 0; i < train->size(); ++i) ++perClass[train->label(i)];
    for (int c : perClass) EXPECT_EQ(c, 6000);
    const int firstTrain[] = {9, 0, 0, 3, 0, 2, 7, 2}, firstTest[] = {9, 2, 1, 1, 6, 1, 4, 6};
    for (int i = 0; i < 8; ++i) {
        EXPECT_EQ(train->label(i), firstTrain[i]);
        EXPECT_EQ(test->label(i), firstTest[i]);
    }
    double sum = 0;
    for (size_t i = 0; i < test->size(); ++i)
        for (auto p : test->image(i).pixels) sum += p / 255.0;
    EXPECT_NEAR(sum / (10000.0 * 784), 0.2868, 0.001);
    EXPECT_EQ(test->image(0).height, 28);
    EXPECT_EQ(train->classNames()[9], "Ankle boot");
}

TEST(Idx, ReadsPlainFilesAndRejectsBadOnes) {
    TempDir d("idx");
    writeIdx(d.path(), "train", 3, 4, 5, {1, 2, 3});
    auto ds = openDataset("idx:" + d.path(), "train");
    EXPECT_EQ(ds->size(), 3u);
    EXPECT_EQ(ds->label(2), 3);
    EXPECT_EQ(ds->image(1).width, 5);
    EXPECT_EQ(ds->image(0).pixels[1], 7);
    writeIdx(d.path(), "t10k", 3, 4, 5, {1, 2});  // mismatched counts
    EXPECT_ERROR_MENTIONS(openDataset("idx:" + d.path(), "test"), "t10k-images", "labels");
    writeIdx(d.path(), "t10k", 3, 4, 5, {1, 2, 12});  // label out of range
    EXPECT_ERROR_MENTIONS(openDataset("idx:" + d.path(), "test"), "t10k-labels", "out of range");
    writeIdx(d.path(), "t10k", 3, 4, 5, {1, 2, 3}, 7);  // truncated
    EXPECT_ERROR_MENTIONS(openDataset("idx:" + d.path(), "test"), "t10k-images", "truncated");
    writeBytes(d.path() + "/t10k-images-idx3-ubyte", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17});
    EXPECT_ERROR_MENTIONS(openDataset("idx:" + d.path(), "test"), "t10k-images", "not an IDX");
    EXPECT_ERROR_MENTIONS(openDataset("idx:/nonexistent/dir", "test"), "/nonexistent/dir", "no such folder");
}

TEST(Idx, TruncatedGzipIsAnError) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir d("gz");
    auto bytes = dilute::testing::readBytes("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
    bytes.resize(bytes.size() / 2);
    writeBytes(d.path() + "/t10k-labels-idx1-ubyte.gz", bytes);
    std::filesystem::copy("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", d.path() + "/t10k-images-idx3-ubyte.gz");
    EXPECT_ERROR_MENTIONS(openDataset("idx:" + d.path(), "test"), "t10k-labels", "truncated");
}

TEST(Idx, ReadsOnlyWhatTheHeaderPromises) {
    // A small .gz whose header says 1 image but that inflates to 64 MB: refused without reading it all.
    TempDir d("bomb");
    writeIdx(d.path(), "t10k", 1, 28, 28, {3});
    {
        std::vector<uint8_t> img = dilute::testing::readBytes(d.path() + "/t10k-images-idx3-ubyte");
        gzFile gz = gzopen((d.path() + "/t10k-images-idx3-ubyte.gz").c_str(), "wb9");
        gzwrite(gz, img.data(), unsigned(img.size()));
        std::vector<uint8_t> zeros(1 << 20, 0);
        for (int i = 0; i < 64; ++i) gzwrite(gz, zeros.data(), unsigned(zeros.size()));
        gzclose(gz);
        std::filesystem::remove(d.path() + "/t10k-images-idx3-ubyte");
    }
    EXPECT_LT(std::filesystem::file_size(d.path() + "/t10k-images-idx3-ubyte.gz"), 200000u);
    EXPECT_ERROR_MENTIONS(openDataset("idx:" + d.path(), "test"), "t10k-images-idx3-ubyte.gz",
                          "more data than its header promises");
    // A header promising more than half the machine's memory is refused before allocating.
    std::vector<uint8_t> huge = be32(0x803);
    for (auto v : {be32(0xFFFFFFFFu), be32(4096), be32(4096)}) huge.insert(huge.end(), v.begin(), v.end());
    writeBytes(d.path() + "/t10k-images-idx3-ubyte", huge);
    std::filesystem::remove(d.path() + "/t10k-images-idx3-ubyte.gz");
    EXPECT_ERROR_MENTIONS(openDataset("idx:" + d.path(), "test"), "t10k-images", "more than the limit");
    // A 16-byte header promising 1 GB (under the memory limit): refused from the file's size,
    // before any allocation; as a gzip, from deflate's ratio bound.
    std::vector<uint8_t> big = be32(0x803);
    for (auto v : {be32(1000), be32(1000), be32(1000)}) big.insert(big.end(), v.begin(), v.end());
    writeBytes(d.path() + "/t10k-images-idx3-ubyte", big);
    EXPECT_ERROR_MENTIONS(openDataset("idx:" + d.path(), "test"), "t10k-images",
                          "a file of 16 bytes cannot hold them");
    std::filesystem::remove(d.path() + "/t10k-images-idx3-ubyte");
    {
        gzFile gz = gzopen((d.path() + "/t10k-images-idx3-ubyte.gz").c_str(), "wb9");
        gzwrite(gz, big.data(), unsigned(big.size()));
        gzclose(gz);
    }
    EXPECT_ERROR_MENTIONS(openDataset("idx:" + d.path(), "test"), "t10k-images-idx3-ubyte.gz",
                          "cannot hold them");
    std::filesystem::remove(d.path() + "/t10k-images-idx3-ubyte.gz");
    // Extra bytes after the promised images in a plain file: refused too.
    writeIdx(d.path(), "t10k", 1, 2, 2, {3});
    auto img = dilute::testing::readBytes(d.path() + "/t10k-images-idx3-ubyte");
    img.push_back(9);
    writeBytes(d.path() + "/t10k-images-idx3-ubyte", img);
    EXPECT_ERROR_MENTIONS(openDataset("idx:" + d.path(), "test"), "t10k-images", "more data than its header");
}

TEST(Cifar, Cifar10And100BinaryFormats) {
    TempDir d("cifar");
    writeCifar10(d.path(), 4);
    auto train = openDataset("cifar10:" + d.path(), "train");
    EXPECT_EQ(train->size(), 20u);
    auto im = train->image(0);
    EXPECT_EQ(im.channels, 3);
    EXPECT_EQ(im.pixels[0], 200);  // R
    EXPECT_EQ(im.pixels[1], 100);  // G
    EXPECT_EQ(im.pixels[2], 50);   // B
    EXPECT_EQ(openDataset("cifar10:" + d.path(), "test")->size(), 4u);

    TempDir h("cifar100");
    std::vector<uint8_t> rec;
    for (int i = 0; i < 3; ++i) {
        rec.push_back(uint8_t(i + 1));   // coarse
        rec.push_back(uint8_t(i + 50));  // fine
        rec.insert(rec.end(), 3072, uint8_t(9));
    }
    writeBytes(h.path() + "/train.bin", rec);
    auto fine = openDataset("cifar100:" + h.path(), "train");
    auto coarse = openDataset("cifar100:" + h.path() + ":coarse", "train");
    EXPECT_EQ(fine->numClasses(), 100);
    EXPECT_EQ(fine->label(2), 52);
    EXPECT_EQ(coarse->numClasses(), 20);
    EXPECT_EQ(coarse->label(2), 3);
}

TEST(Cifar, BadInput) {
    TempDir d("cifarbad");
    writeCifar10(d.path(), 2, /*badLabel=*/11);
    EXPECT_ERROR_MENTIONS(openDataset("cifar10:" + d.path(), "train"), "data_batch_1.bin", "out of range");
    writeBytes(d.path() + "/test_batch.bin", std::vector<uint8_t>(3073 + 100, 0));
    EXPECT_ERROR_MENTIONS(openDataset("cifar10:" + d.path(), "test"), "test_batch.bin", "truncated");
    writeCifar10(d.path(), 2);
    std::filesystem::remove(d.path() + "/data_batch_3.bin");
    EXPECT_ERROR_MENTIONS(openDataset("cifar10:" + d.path(), "train"), "data_batch_3.bin", "missing");
}

#if DILUTE_WITH_OPENCV  // image folders need OpenCV (and libjpeg)
TEST(Folder, ReadsClassesSkipsCorruptAndReportsOnce) {
    TempDir d("folder");
    const char* classes[] = {"cat", "dog"};
    for (int c = 0; c < 2; ++c)
        for (int i = 0; i < 3; ++i) {
            cv::Mat m(20 + i, 30, CV_8UC3, cv::Scalar(10 * i, 50 * c, 200));
            const std::string ext = i % 2 ? ".jpg" : ".png";
            std::filesystem::create_directories(d.path() + "/train/" + classes[c]);
            cv::imwrite(d.path() + "/train/" + classes[c] + "/img" + std::to_string(i) + ext, m);
        }
    std::filesystem::create_directories(d.path() + "/train/cat");
    writeBytes(d.path() + "/train/dog/broken.jpg", {0xff, 0xd8, 0x00, 0x01, 0x02});
    auto ds = openDataset("folder:" + d.path(), "train");
    EXPECT_EQ(ds->size(), 7u);
    EXPECT_EQ(ds->classNames(), (std::vector<std::string>{"cat", "dog"}));
    model::ViTConfig cfg = model::preset("vit_micro_patch4_32");
    LoaderOptions o;
    o.batch_size = 4;
    o.workers = 2;
    Loader loader(ds, trainTransform(cfg, "rrc+flip"), o);
    loader.startEpoch(0);
    Batch b;
    long long seen = 0;
    while (loader.next(b)) {
        seen += b.images.size(0);
        EXPECT_EQ(b.images.size(1), 3);
        EXPECT_EQ(b.images.size(2), 32);
    }
    EXPECT_EQ(seen, 6);
    auto sk = loader.skipped();
    EXPECT_EQ(sk.count, 1);
    ASSERT_EQ(sk.examples.size(), 1u);
    EXPECT_NE(sk.examples[0].find("broken.jpg"), std::string::npos);

    std::filesystem::create_directories(d.path() + "/val/empty");
    EXPECT_ERROR_MENTIONS(openDataset("folder:" + d.path(), "val"), "empty", "empty class folder");
    EXPECT_ERROR_MENTIONS(openDataset("folder:/no/such/place", "train"), "/no/such/place", "no such folder");
    EXPECT_THROW(openDataset("bogus:/x", "train"), Error);
    EXPECT_THROW(openDataset("fashion-mnist", "holdout"), Error);
}
#endif

TEST(Loader, SameBatchesForAnyWorkerCountEveryIndexOnce) {
    TempDir d("loader");
    writeIdx(d.path(), "train", 103, 28, 28, std::vector<uint8_t>(103, 4));
    auto ds = openDataset("idx:" + d.path(), "train");
    auto cfg = model::preset("vit_nano_patch7_28");
    auto run = [&](int workers) {
        LoaderOptions o;
        o.batch_size = 10;
        o.shuffle = true;
        o.seed = 42;
        o.workers = workers;
        Loader l(ds, trainTransform(cfg, "rrc+flip"), o);
        std::vector<torch::Tensor> out;
        for (int e = 0; e < 2; ++e) {
            l.startEpoch(e);
            Batch b;
            std::multiset<size_t> idx;
            while (l.next(b)) {
                out.push_back(b.images);
                idx.insert(b.indices.begin(), b.indices.end());
            }
            EXPECT_EQ(idx.size(), 103u);
            EXPECT_EQ(std::set<size_t>(idx.begin(), idx.end()).size(), 103u);
        }
        return out;
    };
    auto a = run(1), b = run(4), c = run(0);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_TRUE(torch::equal(a[i], b[i])) << "batch " << i;
        EXPECT_TRUE(torch::equal(a[i], c[i])) << "batch " << i;
    }
    EXPECT_FALSE(torch::equal(a[0], a[11]));  // epochs differ
}

TEST(Loader, DropLastAndEvalTransformNormalizes) {
    TempDir d("loader2");
    writeIdx(d.path(), "train", 25, 28, 28, std::vector<uint8_t>(25, 1));
    auto ds = openDataset("idx:" + d.path(), "train");
    auto cfg = model::preset("vit_nano_patch7_28");
    LoaderOptions o;
    o.batch_size = 10;
    o.drop_last = true;
    Loader l(ds, evalTransform(cfg), o);
    EXPECT_EQ(l.batchesPerEpoch(), 2u);
    l.startEpoch(0);
    Batch b;
    ASSERT_TRUE(l.next(b));
    const float expect = float((ds->image(0).pixels[3] / 255.0 - 0.2860) / 0.3530);
    EXPECT_NEAR(b.images[0][0][0][3].item<float>(), expect, 1e-5);
    EXPECT_EQ(b.labels[0].item<int64_t>(), 1);
}

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

TEST(Calibration, StratifiedSampleCoversAClassSortedDatasetEvenly) {
    // 10 classes stored one after the other (as a folder dataset lists them), uneven sizes.
    std::vector<int> labels;
    const int sizes[10] = {300, 300, 300, 300, 300, 300, 300, 300, 300, 7};
    for (int k = 0; k < 10; ++k) labels.insert(labels.end(), size_t(sizes[k]), k);
    std::vector<std::string> names;
    for (int k = 0; k < 10; ++k) names.push_back("c" + std::to_string(k));
    auto ds = std::make_shared<MemoryDataset>("sorted", std::vector<uint8_t>(labels.size() * 4, 0), labels, 2, 2, 1, names);
    // The first 256 in file order: one class only. Stratified: every class.
    auto first = limitDataset(ds, 256);
    std::set<int> seen;
    for (size_t i = 0; i < first->size(); ++i) seen.insert(first->label(i));
    EXPECT_EQ(seen.size(), 1u);
    std::vector<size_t> per;
    auto s = stratifiedSample(ds, 256, 42, &per);
    ASSERT_EQ(s->size(), 256u);
    std::vector<size_t> counted(10, 0);
    for (size_t i = 0; i < s->size(); ++i) ++counted[size_t(s->label(i))];
    EXPECT_EQ(counted, per);
    EXPECT_EQ(per[9], 7u);  // the small class gives all it has...
    for (int k = 0; k < 9; ++k) EXPECT_TRUE(per[size_t(k)] == 27 || per[size_t(k)] == 28) << k;  // ...the rest share 249
    // Seeded: the same sample for the same seed, another for another seed; distinct items.
    auto again = stratifiedSample(ds, 256, 42), other = stratifiedSample(ds, 256, 43);
    bool same = true, differ = false;
    for (size_t i = 0; i < 256; ++i) {
        same = same && s->source(i) == again->source(i);
        differ = differ || s->source(i) != other->source(i);
    }
    EXPECT_TRUE(same);
    EXPECT_TRUE(differ);
    std::set<std::string> distinct;
    for (size_t i = 0; i < 256; ++i) distinct.insert(s->source(i));
    EXPECT_EQ(distinct.size(), 256u);
    // Asking for more than there is: all of it.
    EXPECT_EQ(stratifiedSample(ds, 1u << 20, 0)->size(), labels.size());
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
    EXPECT_NEAR(sum / cnt, 0.0, 0.05);        // N(0, 1): mean 0
    EXPECT_NEAR(sq / cnt, 1.0, 0.05);         // and variance 1
}
