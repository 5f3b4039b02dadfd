// Run::restore and Run::openRunState (train/run_setup.cpp): a run resumed from its last checkpoint is in the state the
// stopped run had reached, even when no step is left to train (stopped while writing its final
// weights): lambda applied, the summary's top-1 the last epoch's. Found by
// tests/stress/kill_resume.sh: such a run used to save final.safetensors at lambda 1.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/test_util.h"
#include "io/weights.h"
#include "model/vit.h"
#include "train/trainer.h"

using namespace dilute;
using dilute::testing::TempDir;

namespace {
// A short dilution run of block 2 on 256 Fashion-MNIST images into `dir`.
train::TrainOptions shortDilution(const std::string& dir, int epochs) {
    train::TrainOptions o;
    o.model = "vit_nano_patch7_28";
    o.data = "fashion-mnist";
    o.out_dir = dir;
    o.epochs = epochs;
    o.batch = 64;
    o.train_limit = 256;
    o.test_limit = 128;
    o.workers = 1;
    o.device = "cpu";
    o.select = "2";
    return o;
}
}  // namespace

TEST(RunSetup, ARunStoppedAfterItsLastStepResumesToTheSameFinalModel) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir d("resume-end");
    auto o = shortDilution(d.file("run"), 2);
    o.schedule.end = 1;  // lambda 0 from the end of the first epoch
    const auto full = train::train(o);
    auto want = io::openModel(d.file("run/final.safetensors"));
    ASSERT_EQ(want->block(2)->lambda(), 0.0);

    std::filesystem::remove(d.file("run/final.safetensors"));  // as a kill during the final write leaves it
    const auto resumed = train::resume(d.file("run"));
    EXPECT_EQ(resumed.steps, full.steps);
    EXPECT_DOUBLE_EQ(resumed.final_top1, full.final_top1);
    EXPECT_EQ(resumed.epochs_done, 2);
    auto got = io::openModel(d.file("run/final.safetensors"));
    EXPECT_EQ(got->block(2)->lambda(), 0.0);
    EXPECT_EQ(io::weightsFingerprint(*got), io::weightsFingerprint(*want));
}

// Run::openRunState: a run killed before its first checkpoint (config.json written, a few steps
// logged, a half-written set) has nothing to continue from; --resume starts it again from step 0
// with its recorded options and ends as an uninterrupted run does. Found by the workbench's
// kill-at-start test (tests/widgets/test_mainwindow_open.cpp): it used to refuse ("no checkpoint").
TEST(RunSetup, ARunKilledBeforeItsFirstCheckpointStartsAgainOnResume) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir d("resume-start");
    const auto full = train::train(shortDilution(d.file("ref"), 1));
    const auto killed = d.file("killed");
    std::filesystem::create_directories(killed + "/checkpoints/step-000000004.tmp");
    std::filesystem::copy_file(d.file("ref/config.json"), killed + "/config.json");
    {
        std::ofstream m(killed + "/metrics.jsonl");
        m << R"({"event":"step","step":1,"epoch":0,"loss":9.0,"lr":0.001,"lambda":[1]})"
          << "\n";
    }
    const auto resumed = train::resume(killed);
    EXPECT_EQ(resumed.steps, full.steps);
    EXPECT_DOUBLE_EQ(resumed.final_top1, full.final_top1);
    auto want = io::openModel(d.file("ref/final.safetensors")), got = io::openModel(killed + "/final.safetensors");
    EXPECT_EQ(io::weightsFingerprint(*got), io::weightsFingerprint(*want));
    std::ifstream m(killed + "/metrics.jsonl");
    std::string first;
    std::getline(m, first);
    EXPECT_EQ(first.find("\"loss\":9.0"), std::string::npos) << "the killed run's steps were kept: " << first;
}
