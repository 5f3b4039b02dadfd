// Run::restore (train/run_setup.cpp): a run resumed from its last checkpoint is in the state the
// stopped run had reached, even when no step is left to train (stopped while writing its final
// weights): lambda applied, the summary's top-1 the last epoch's. Found by
// tests/stress/kill_resume.sh: such a run used to save final.safetensors at lambda 1.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/test_util.h"
#include "io/weights.h"
#include "model/vit.h"
#include "train/trainer.h"

using namespace dilute;
using dilute::testing::TempDir;

TEST(RunSetup, ARunStoppedAfterItsLastStepResumesToTheSameFinalModel) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir d("resume-end");
    train::TrainOptions o;
    o.model = "vit_nano_patch7_28";
    o.data = "fashion-mnist";
    o.out_dir = d.file("run");
    o.epochs = 2;
    o.batch = 64;
    o.train_limit = 256;
    o.test_limit = 128;
    o.workers = 1;
    o.device = "cpu";
    o.select = "2";
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
