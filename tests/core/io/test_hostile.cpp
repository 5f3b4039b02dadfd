// Hostile input the readers must refuse before spending memory or time: architecture metadata
// of absurd size, a FIFO where weights should be, a dataset whose classes differ from the model's.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#if DILUTE_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif
#include <sys/stat.h>

#include <thread>

#include "analysis/job.h"
#include "analysis/profile.h"
#include "core/test_util.h"
#include "data/dataset.h"
#include "data/limits.h"
#include "data/loader.h"
#include "data/memory_dataset.h"
#include "io/export.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "model/preset.h"
#include "model/vit.h"
#include "train/evaluate.h"
#include "train/metrics.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/files.h"
#include "util/runtime.h"

using namespace dilute;
using dilute::testing::TempDir;

namespace {

std::string errorOf(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST(Hostile, ArchitectureMetadataOutOfRangeIsRefusedBeforeBuilding) {
    auto base = nlohmann::json::parse(io::archToJson(model::preset("vit_nano_patch7_28"), {}, false));
    auto with = [&](const char* key, nlohmann::json v) {
        auto j = base;
        j[key] = v;
        return errorOf([&] { io::archFromJson(j.dump(), nullptr, nullptr); });
    };
    EXPECT_NE(with("depth", 1000000).find("depth"), std::string::npos);
    EXPECT_NE(with("depth", -3).find("depth"), std::string::npos);
    EXPECT_NE(with("embed_dim", 1 << 20).find("embed_dim"), std::string::npos);
    EXPECT_NE(with("num_classes", -1).find("num_classes"), std::string::npos);  // 0 is a model without head
    EXPECT_NE(with("reg_tokens", 100000).find("reg_tokens"), std::string::npos);
    EXPECT_NE(with("global_pool", "max").find("global_pool"), std::string::npos);
    EXPECT_NE(with("img_size", 1 << 20).find("img_size"), std::string::npos);
    EXPECT_NE(with("mlp_ratio", 1e9).find("mlp_ratio"), std::string::npos);
    // Within every range but too large together: refused by its memory estimate.
    {
        auto j = base;
        j["embed_dim"] = 16384;
        j["num_heads"] = 16;
        j["depth"] = 512;
        EXPECT_NE(errorOf([&] { io::archFromJson(j.dump(), nullptr, nullptr); }).find("would not fit"),
                  std::string::npos);
    }
    // The same through a weights file: the error names the file, no model is built.
    TempDir d("arch");
    auto j = base;
    j["depth"] = 1000000;
    io::writeSafetensors(d.file("w.safetensors"), {{"cls_token", torch::zeros({1, 1, 64})}},
                         {{"dilute.arch", j.dump()}});
    const auto e = errorOf([&] { io::openModel(d.file("w.safetensors")); });
    EXPECT_NE(e.find("w.safetensors"), std::string::npos) << e;
    EXPECT_NE(e.find("depth"), std::string::npos) << e;
}

TEST(Hostile, AFifoAsWeightsOrConfigDoesNotBlock) {
    TempDir d("fifo");
    ASSERT_EQ(::mkfifo(d.file("w.safetensors").c_str(), 0600), 0);
    // Run on a thread with a deadline: a blocking open would hang the test forever.
    std::string e1, e2;
    std::thread t([&] {
        e1 = errorOf([&] { io::readSafetensors(d.file("w.safetensors")); });
        e2 = errorOf([&] { fs::readText(d.file("w.safetensors")); });
    });
    for (int i = 0; i < 100 && (e1.empty() || e2.empty()); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (e1.empty() || e2.empty()) {
        t.detach();
        FAIL() << "opening a FIFO blocked";
    }
    t.join();
    EXPECT_NE(e1.find("not a regular file"), std::string::npos) << e1;
    EXPECT_NE(e2.find("not a regular file"), std::string::npos) << e2;
}

TEST(Hostile, ClassCountMismatchIsRefusedWithBothNumbers) {
    std::vector<std::string> classes;
    for (int c = 0; c < 12; ++c) classes.push_back("c" + std::to_string(c));
    auto ds = std::make_shared<data::MemoryDataset>("twelve", std::vector<uint8_t>(4 * 784, 9),
                                                    std::vector<int>{0, 5, 11, 3}, 28, 28, 1, classes);
    auto cfg = model::preset("vit_nano_patch7_28");
    auto m = model::buildModel(cfg);
    data::Loader l(ds, data::evalTransform(cfg), {});
    const auto e = errorOf([&] { train::evaluate(*m, l); });
    EXPECT_NE(e.find("10 classes"), std::string::npos) << e;
    EXPECT_NE(e.find("has 12"), std::string::npos) << e;
}

TEST(Hostile, ThreadCountsAreClampedToTheCores) {
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    EXPECT_EQ(setThreads(10000), cores);
    EXPECT_EQ(setThreads(0), cores);
    EXPECT_EQ(setThreads(1), 1);
    setThreads(0);
}

TEST(Hostile, AnalysisOptionsOutOfRangeAreRefusedNotSubstituted) {
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));  // 6 blocks
    for (int k : {-5, 7, 100}) {
        analysis::AnalysisOptions o;
        o.k = k;
        const auto e = errorOf([&] { analysis::runAnalysis(*m, o); });
        EXPECT_NE(e.find("--k " + std::to_string(k) + ": expected 0..6"), std::string::npos) << e;
    }
    analysis::AnalysisOptions o;
    o.calib = 0;
    EXPECT_NE(errorOf([&] { analysis::runAnalysis(*m, o); }).find("--calib 0"), std::string::npos);
}

#if DILUTE_WITH_OPENCV  // image folders need OpenCV (and libjpeg)
TEST(Hostile, NoDecodableImageIsAnErrorNotZeroPercent) {
    TempDir d("undecodable");
    for (const char* c : {"cat", "dog"})
        dilute::testing::writeBytes(d.file(std::string(c) + "/x.jpg"), {0xff, 0xd8, 1, 2, 3});
    auto ds = data::openDataset("folder:" + d.path(), "test");
    auto cfg = model::preset("vit_micro_patch4_32");
    cfg.num_classes = 2;
    auto m = model::buildModel(cfg);
    data::Loader l(ds, data::evalTransform(cfg), {});
    const auto e = errorOf([&] { train::evaluate(*m, l); });
    EXPECT_NE(e.find("none of the 2 images"), std::string::npos) << e;
}
#endif

TEST(Hostile, NonFiniteWeightsAreRefusedForTraining) {
    TempDir d("nanw");
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    {
        torch::NoGradGuard ng;
        m->named_parameters()["blocks.2.mlp.fc1.weight"][0][0] = std::numeric_limits<float>::quiet_NaN();
    }
    io::saveModel(*m, d.file("nan.safetensors"));
    auto back = io::openModel(d.file("nan.safetensors"));
    EXPECT_EQ(io::nonFiniteParameters(*back), (std::vector<std::string>{"blocks.2.mlp.fc1.weight"}));
    train::TrainOptions o;
    o.model = d.file("nan.safetensors");
    o.out_dir = d.file("run");
    const auto e = errorOf([&] { train::train(o); });
    EXPECT_NE(e.find("NaN or infinite"), std::string::npos) << e;
    EXPECT_NE(e.find("blocks.2.mlp.fc1.weight"), std::string::npos) << e;
}

TEST(Hostile, ExportChecksBothOutputsBeforeWritingEither) {
    TempDir d("exp");
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    m->block(1)->setLambda(0.0);
    io::saveModel(*m, d.file("diluted.safetensors"));
    io::ExportOptions o;
    o.model = d.file("diluted.safetensors");
    o.out = d.file("pruned.safetensors");
    o.torchscript = "/proc/dilute-cannot-write/pruned.pt";
    const auto e = errorOf([&] { io::exportPruned(o); });
    EXPECT_NE(e.find("/proc/dilute-cannot-write"), std::string::npos) << e;
    EXPECT_FALSE(std::filesystem::exists(o.out));
}

TEST(Hostile, ArchOnAFoldedExportKeepsTheFilesOwnFoldingOrIsRefused) {
    TempDir d("fold");
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    m->initWeights(4);
    m->eval();
    m->removeAttention({1, 3}, true);  // removed and folded, as `dilute export` writes it
    io::saveModel(*m, d.file("p.safetensors"));
    io::OpenOptions same;
    same.arch = "vit_nano_patch7_28";
    auto m2 = io::openModel(d.file("p.safetensors"), same);
    m2->eval();
    EXPECT_TRUE(m2->folded());
    auto x = torch::randn({2, 1, 28, 28});
    EXPECT_TRUE(torch::allclose(m->forward(x), m2->forward(x)));  // was silently different before
    io::OpenOptions other;
    other.arch = "vit_micro_patch7_28";
    const auto e = errorOf([&] { io::openModel(d.file("p.safetensors"), other); });
    EXPECT_NE(e.find("--arch vit_micro_patch7_28 disagrees"), std::string::npos) << e;
}

#if DILUTE_WITH_OPENCV  // image folders need OpenCV (and libjpeg)
TEST(Hostile, ImagesPromisingTooManyPixelsAreSkippedBeforeDecoding) {
    TempDir d("pixels");
    cv::Mat small(8, 8, CV_8UC3, cv::Scalar(10, 20, 30));
    std::filesystem::create_directories(d.file("c"));
    ASSERT_TRUE(cv::imwrite(d.file("c/a.png"), small));
    ASSERT_TRUE(cv::imwrite(d.file("c/b.jpg"), small));
    // A PNG whose IHDR claims 30000 x 30000 (OpenCV would try to allocate 2.7 GB).
    auto png = dilute::testing::readBytes(d.file("c/a.png"));
    for (int i : {16, 20}) png[i] = 0, png[i + 1] = 0, png[i + 2] = 0x75, png[i + 3] = 0x30;
    dilute::testing::writeBytes(d.file("c/a.png"), png);
    // A JPEG whose frame header claims 30000 x 30000, its scan data cut short after the header.
    auto jpg = dilute::testing::readBytes(d.file("c/b.jpg"));
    for (size_t i = 2; i + 9 < jpg.size(); ++i)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
            jpg[i + 5] = 0x75, jpg[i + 6] = 0x30, jpg[i + 7] = 0x75, jpg[i + 8] = 0x30;
            break;
        }
    for (size_t i = 2; i + 1 < jpg.size(); ++i)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xDA) {
            jpg.resize(i + 20);
            break;
        }
    dilute::testing::writeBytes(d.file("c/b.jpg"), jpg);
    auto ds = data::openDataset("folder:" + d.path(), "test");
    ASSERT_EQ(ds->size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        const auto e = errorOf([&] { ds->image(i); });
        EXPECT_NE(e.find("30000x30000 = 900000000 pixels, over the limit"), std::string::npos) << e;
    }
    // The limit is configurable (--max-image-pixels): an 8x8 image over a limit of 50.
    ASSERT_TRUE(cv::imwrite(d.file("c/a.png"), small));
    data::setMaxImagePixels(50);
    const auto e = errorOf([&] { ds->image(0); });
    // A job whose every image is over the limit says so, with the limit and its option.
    const auto calib = errorOf([&] {
        analysis::loadCalibration(model::preset("vit_nano_patch7_28"), "folder:" + d.path(), "test", 2, 2, 1, "cpu",
                                  nullptr, nullptr, "first", 0);
    });
    data::setMaxImagePixels(data::kDefaultMaxImagePixels);
    EXPECT_NE(e.find("over the limit of 50"), std::string::npos) << e;
    EXPECT_NE(calib.find("no readable calibration images (2 skipped, e.g."), std::string::npos) << calib;
    EXPECT_NE(calib.find("(--max-image-pixels)"), std::string::npos) << calib;
    EXPECT_EQ(ds->image(0).width, 8);
}
#endif

TEST(Hostile, TrainingOptionsOutOfRangeAreRefusedWithTheRange) {
    auto base = [] {
        train::TrainOptions o;
        o.model = "vit_nano_patch7_28";
        return o;
    };
    EXPECT_NO_THROW(base().validate());
    const std::vector<std::pair<std::function<void(train::TrainOptions&)>, std::string>> cases = {
        {[](auto& o) { o.epochs = 1000000000; }, "--epochs 1000000000 is outside [1, 100000]"},
        {[](auto& o) { o.epochs = 0; }, "--epochs 0 is outside"},
        {[](auto& o) { o.batch = 10000000; }, "--batch 10000000 is outside [1, 65536]"},
        {[](auto& o) { o.lr = std::numeric_limits<double>::infinity(); }, "--lr inf: expected a finite number"},
        {[](auto& o) { o.lr = std::nan(""); }, "--lr nan: expected a finite number"},
        {[](auto& o) { o.lr = 0; }, "--lr 0 is outside [1e-08, 10]"},
        {[](auto& o) { o.weight_decay = -1; }, "--weight-decay -1 is outside [0, 10]"},
        {[](auto& o) { o.warmup_epochs = 50; }, "--warmup 50 is longer than the run (--epochs 10)"},
        {[](auto& o) { o.calib = 0; }, "--calib 0 is outside [1, 10000000]"},
        {[](auto& o) { o.amp = "fp8"; }, "--amp 'fp8': expected one of auto, off, bf16, fp16"},
        {[](auto& o) { o.heads = -2; }, "--heads -2 is outside [0, 4096]"},
        {[](auto& o) { o.workers = 100000; }, "--workers 100000 is outside [0, 256]"},
        {[](auto& o) { o.clip_grad = std::nan(""); }, "--clip-grad nan: expected a finite number"},
        {[](auto& o) { o.schedule.start = 9; }, "--decay-start 9.000000 epochs is not before the automatic end"},
    };
    for (const auto& [edit, expect] : cases) {
        auto o = base();
        edit(o);
        const auto e = errorOf([&] { o.validate(); });
        EXPECT_NE(e.find(expect), std::string::npos) << expect << ": " << e;
    }
    // The same ranges hold for a config.json read back (train --config / --resume).
    auto o = base();
    o.epochs = 1000000000;
    const auto e = errorOf([&] { train::TrainOptions::fromJson(o.toJson()).validate(); });
    EXPECT_NE(e.find("epochs = 1000000000 is outside [1, 100000]"), std::string::npos) << e;
}
