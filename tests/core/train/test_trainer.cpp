#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#if DILUTE_WITH_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#endif

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "analysis/job.h"
#include "core/test_util.h"
#include "io/checkpoint.h"
#include "io/weights.h"
#include "model/vit.h"
#include "train/runfolder.h"
#include "train/runs.h"
#include "train/schedule.h"
#include "train/trainer.h"
#include "util/error.h"

using namespace dilute;
using namespace dilute::train;
using dilute::testing::TempDir;

namespace {

TrainOptions tinyRun(const std::string& dir) {
    TrainOptions o;
    o.model = "vit_nano_patch7_28";
    o.data = "fashion-mnist";
    o.out_dir = dir;
    o.epochs = 2;
    o.batch = 64;
    o.lr = 2e-3;
    o.warmup_epochs = 0.5;
    o.train_limit = 640;
    o.test_limit = 256;
    o.workers = 1;
    o.device = "cpu";
    o.drop_path = 0.1;
    return o;
}

std::vector<double> stepLosses(const std::string& metrics) {
    std::ifstream in(metrics);
    std::string line;
    std::vector<double> out;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        if (j["event"] == "step") out.push_back(j["loss"]);
    }
    return out;
}

}  // namespace

TEST(Trainer, ShortRunLowersLossAndWritesRunFolder) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir d("train");
    auto o = tinyRun(d.path());
    o.epochs = 3;
    o.select = "1,3";
    std::vector<EpochEvent> epochs;
    std::vector<StepEvent> steps;
    TrainObserver obs;
    obs.onEpoch = [&](const EpochEvent& e) { epochs.push_back(e); };
    obs.onStep = [&](const StepEvent& e) { steps.push_back(e); };
    auto s = train::train(o, obs);
    ASSERT_EQ(epochs.size(), 3u);
    EXPECT_LT(epochs.back().train_loss, epochs.front().train_loss);
    EXPECT_GT(epochs.back().test_top1, 30.0);
    EXPECT_EQ(s.blocks, (std::vector<int>{1, 3}));
    ASSERT_EQ(steps.size(), 30u);
    EXPECT_EQ(steps.front().lambdas.size(), 2u);
    EXPECT_LT(steps[10].lambdas[0], steps[2].lambdas[0]);
    EXPECT_EQ(epochs.back().lambdas[0], 0.0);  // 3/4 of the run by default
    for (const char* f :
         {"config.json", "metrics.jsonl", "checkpoints/last.json", "checkpoints/best.json", "final.safetensors"})
        EXPECT_TRUE(std::filesystem::exists(d.file(f))) << f;
    // One set per pointer at most: last (weights + optimizer) and best (weights only).
    const auto lastW = io::checkpointWeights(d.file("checkpoints"), "last");
    EXPECT_NE(lastW.find("step-000000030"), std::string::npos) << lastW;
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(lastW).parent_path() / "optim.pt"));
    EXPECT_TRUE(std::filesystem::exists(io::checkpointWeights(d.file("checkpoints"), "best")));
    // The final file remembers its lambdas: loading it gives the diluted model.
    auto m = io::openModel(d.file("final.safetensors"));
    EXPECT_EQ(m->block(1)->lambda(), 0.0);
    EXPECT_EQ(m->block(0)->lambda(), 1.0);
}

TEST(Trainer, ResumeReproducesUninterruptedLosses) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir a("full"), b("resumed");
    auto oa = tinyRun(a.path());
    oa.select = "2";
    train::train(oa);
    auto ob = tinyRun(b.path());
    ob.select = "2";
    CancelToken cancel;
    TrainObserver obs;
    obs.onStep = [&](const StepEvent& e) {
        if (e.step == 13) cancel.cancel();  // mid second epoch
    };
    EXPECT_THROW(train::train(ob, obs, &cancel), Cancelled);
    auto st = io::readCheckpointState(b.file("checkpoints"), "last");
    EXPECT_EQ(st.step, 13);  // stopped within one step, checkpoint written
    train::resume(b.path());
    auto la = stepLosses(a.file("metrics.jsonl")), lb = stepLosses(b.file("metrics.jsonl"));
    ASSERT_EQ(la.size(), 20u);
    ASSERT_EQ(lb.size(), 20u);
    for (size_t i = 0; i < la.size(); ++i)
        EXPECT_NEAR(la[i], lb[i], 1e-5 * std::max(1.0, std::fabs(la[i]))) << "step " << i;
}

TEST(Trainer, NanStopsRunAndKeepsLastGoodCheckpoint) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir d("nan");
    auto o = tinyRun(d.path());
    o.inject_nan_step = 14;  // in the second epoch, after the first checkpoint
    std::string msg;
    try {
        train::train(o);
    } catch (const Error& e) {
        msg = e.what();
    }
    EXPECT_NE(msg.find("NaN at step 15"), std::string::npos) << msg;
    auto st = io::readCheckpointState(d.file("checkpoints"), "last");
    EXPECT_EQ(st.step, 10);
    auto m = io::openModel(io::checkpointWeights(d.file("checkpoints"), "last"));  // intact and loadable
    for (const auto& p : m->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
    EXPECT_FALSE(std::filesystem::exists(d.file("final.safetensors")));
}

TEST(Trainer, ARunFolderIsNeverOverwrittenOrMixed) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir d("runs");
    auto o = tinyRun(d.file("run"));
    o.epochs = 1;
    train::train(o);
    const std::string marker = d.file("run/export/pruned.safetensors");  // something the old run made later
    dilute::testing::writeBytes(marker, {1, 2, 3});
    int steps = 0;
    TrainObserver obs;
    obs.onStep = [&](const StepEvent&) { ++steps; };
    std::string msg;
    try {
        train::train(o, obs);
    } catch (const Error& e) {
        msg = e.what();
    }
    EXPECT_NE(msg.find(d.file("run") + ": the folder already holds a run"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--overwrite"), std::string::npos) << msg;
    EXPECT_EQ(steps, 0);
    EXPECT_TRUE(std::filesystem::exists(marker));  // nothing of the old run touched
    // --overwrite: the old run is removed first, so nothing of it remains beside the new one.
    o.overwrite = true;
    train::train(o);
    EXPECT_FALSE(std::filesystem::exists(marker));
    EXPECT_TRUE(std::filesystem::exists(d.file("run/final.safetensors")));
    // A folder of other files is refused even with --overwrite (it is not ours to delete).
    dilute::testing::writeBytes(d.file("photos/cat.jpg"), {1});
    auto p = tinyRun(d.file("photos"));
    p.overwrite = true;
    EXPECT_THROW(train::train(p), Error);
    EXPECT_TRUE(std::filesystem::exists(d.file("photos/cat.jpg")));
    // The workbench's proposal: the next free name beside it.
    EXPECT_EQ(train::nextFreeRunDir(d.file("run")), d.file("run-2"));
    dilute::testing::writeBytes(d.file("run-2/config.json"), {'{', '}'});
    EXPECT_EQ(train::nextFreeRunDir(d.file("run")), d.file("run-3"));
    EXPECT_EQ(train::nextFreeRunDir(d.file("run-2")), d.file("run-3"));
    EXPECT_EQ(train::nextFreeRunDir(d.file("fresh")), d.file("fresh"));
}

TEST(Trainer, UnwritableFolderFailsBeforeTraining) {
    auto o = tinyRun("/proc/dilute-cannot-write-here");
    int steps = 0;
    TrainObserver obs;
    obs.onStep = [&](const StepEvent&) { ++steps; };
    EXPECT_THROW(train::train(o, obs), Error);
    EXPECT_EQ(steps, 0);
    TempDir d("badopts");
    auto bad = tinyRun(d.path());
    bad.select = "0,99";
    EXPECT_THROW(train::train(bad), Error);
    EXPECT_THROW(train::resume(d.file("nope")), Error);
}

#if DILUTE_WITH_OPENCV  // image folders need OpenCV (and libjpeg)
TEST(Trainer, UndecodableImagesAreSkippedAndReportedOnceAtTheEnd) {
    // A folder dataset (10 classes, 28 px JPEGs) with a broken file in train and in test: the run
    // and the analysis go on, and each reports the skips in one log message naming the file.
    TempDir d("skips");
    cv::RNG rng(5);
    for (const std::string split : {"train", "val"})
        for (int c = 0; c < 10; ++c)
            for (int i = 0; i < (split == "train" ? (c == 0 ? 3 : 4) : 2); ++i) {  // 39 + 1 broken: 5 full batches
                cv::Mat m(28, 28, CV_8UC3);
                rng.fill(m, cv::RNG::UNIFORM, 0, 256);
                const std::string dir = d.path() + "/" + split + "/c" + std::to_string(c);
                std::filesystem::create_directories(dir);
                cv::imwrite(dir + "/img" + std::to_string(i) + ".jpg", m);
            }
    dilute::testing::writeBytes(d.path() + "/train/c3/broken.jpg", {0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3});
    dilute::testing::writeBytes(d.path() + "/val/c7/empty.png", {});
    TempDir run("skips-run");
    auto o = tinyRun(run.path());
    o.data = "folder:" + d.path();
    o.train_limit = o.test_limit = 0;
    o.batch = 8;
    std::vector<std::string> logs;
    TrainObserver obs;
    obs.log = [&](const std::string& s) { logs.push_back(s); };
    const auto s = train::train(o, obs);
    EXPECT_EQ(s.epochs_done, 2);
    EXPECT_EQ(s.skipped_train, 2);  // the same file, once per epoch
    EXPECT_EQ(s.skipped_test, 2);
    int trainMsgs = 0, testMsgs = 0;
    for (const auto& l : logs) {
        if (l.find("broken.jpg") != std::string::npos) {
            ++trainMsgs;
            EXPECT_NE(l.find("2 undecodable training images skipped (1 files)"), std::string::npos) << l;
        }
        if (l.find("empty.png") != std::string::npos) ++testMsgs;
    }
    EXPECT_EQ(trainMsgs, 1);
    EXPECT_EQ(testMsgs, 1);

    analysis::AnalysisOptions ao;
    ao.model = "vit_nano_patch7_28";
    ao.data = o.data;
    ao.split = "train";
    ao.calib = 64;
    ao.batch = 16;
    ao.k = 1;
    ao.device = "cpu";
    std::vector<std::string> alogs;
    analysis::AnalysisObserver aobs;
    aobs.log = [&](const std::string& l) { alogs.push_back(l); };
    const auto r = analysis::runAnalysis(ao, aobs);
    EXPECT_EQ(r.calib, 39);  // 40 files, one undecodable
    bool reported = false;
    for (const auto& l : alogs)
        reported |= l.find("1 undecodable calibration images skipped") != std::string::npos &&
                    l.find("broken.jpg") != std::string::npos;
    EXPECT_TRUE(reported);
}
#endif

TEST(Trainer, ResumeOrOverwriteOfARunBeingWrittenIsRefused) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir d("locked");
    auto o = tinyRun(d.path());
    o.epochs = 1;
    train::train(o);
    const auto before = std::filesystem::last_write_time(d.file("final.safetensors"));
    RunLock other(d.path());  // as another process writing it would
    try {
        train::resume(d.path());
        ADD_FAILURE() << "resumed a run folder another writer holds";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("another process"), std::string::npos) << e.what();
    }
    o.overwrite = true;
    EXPECT_THROW(train::train(o), Error);
    EXPECT_TRUE(std::filesystem::exists(d.file("final.safetensors")));  // nothing of the run was removed
    EXPECT_EQ(std::filesystem::last_write_time(d.file("final.safetensors")), before);
    // A run folder without an end event is "running" while locked, "interrupted" once let go.
    TempDir e("live");
    {
        std::ofstream(e.file("config.json")) << "{}";
        std::ofstream(e.file("metrics.jsonl")) << "";
        RunLock live(e.path());
        EXPECT_EQ(summarizeRun(e.path(), "", -1).status, "running");
    }
    EXPECT_EQ(summarizeRun(e.path(), "", -1).status, "interrupted");
}
