#include <gtest/gtest.h>
#include <zlib.h>
#if DILUTE_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif
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
using dilute::testing::writeBytes;

#define EXPECT_ERROR_MENTIONS(stmt, a, b)             \
    try {                                             \
        stmt;                                         \
        ADD_FAILURE() << "no error from " #stmt;      \
    } catch (const dilute::Error& e) {                \
        const std::string w = e.what();               \
        EXPECT_NE(w.find(a), std::string::npos) << w; \
        EXPECT_NE(w.find(b), std::string::npos) << w; \
    }

namespace {

std::vector<uint8_t> be32(uint32_t v) { return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }
using dilute::testing::writeIdx;

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
    std::filesystem::copy("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
                          d.path() + "/t10k-images-idx3-ubyte.gz");
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
    EXPECT_ERROR_MENTIONS(openDataset("idx:" + d.path(), "test"), "t10k-images", "a file of 16 bytes cannot hold them");
    std::filesystem::remove(d.path() + "/t10k-images-idx3-ubyte");
    {
        gzFile gz = gzopen((d.path() + "/t10k-images-idx3-ubyte.gz").c_str(), "wb9");
        gzwrite(gz, big.data(), unsigned(big.size()));
        gzclose(gz);
    }
    EXPECT_ERROR_MENTIONS(openDataset("idx:" + d.path(), "test"), "t10k-images-idx3-ubyte.gz", "cannot hold them");
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
