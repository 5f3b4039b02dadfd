// The run registry behind the Runs panel: status from the end event (or its absence and the
// file's age), selection, accuracy, nesting, and what is skipped.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <utime.h>
#include <filesystem>

#include "core/test_util.h"
#include "train/runs.h"
#include "util/files.h"

using namespace dilute;
using dilute::testing::TempDir;
using json = nlohmann::json;

namespace {

void writeRun(const std::string& dir, const std::vector<int>& blocks, const std::string& selector,
              const std::vector<double>& top1, const std::string& end, int epochs = 3) {
    json cfg = {{"model", "/models/base/final.safetensors"},
                {"epochs", epochs},
                {"batch", 64},
                {"lr", 1e-3},
                {"created", "2026-11-29T10:00:00Z"},
                {"resolved_selection", {{"selector", selector}, {"blocks", blocks}}},
                {"distributed", {{"world_size", 2}}}};
    fs::makeDirs(dir);
    fs::atomicWriteText(dir + "/config.json", cfg.dump());
    std::string m;
    long long step = 0;
    for (size_t e = 0; e < top1.size(); ++e) {
        for (int i = 0; i < 4; ++i) {
            ++step;
            std::vector<double> lam(blocks.size(), std::max(0.0, 1.0 - step / 8.0));
            m += json{{"event", "step"}, {"step", step}, {"epoch", e}, {"loss", 2.0 - 0.1 * step}, {"lambda", lam}}
                     .dump() +
                 "\n";
        }
        m += json{{"event", "epoch"}, {"epoch", e}, {"step", step}, {"test_top1", top1[e]}}.dump() + "\n";
    }
    if (!end.empty())
        m += json{{"event", "end"}, {"status", end}, {"step", step}, {"message", end == "failed" ? "loss is NaN" : ""}}
                 .dump() +
             "\n";
    fs::atomicWriteText(dir + "/metrics.jsonl", m);
}

}  // namespace

TEST(Runs, ListsRunFoldersWithStatusSelectionAndAccuracy) {
    TempDir d("runs");
    writeRun(d.file("nose"), {1, 3}, "nose", {60, 70, 68}, "finished");
    writeRun(d.file("random"), {0, 5}, "random", {55, 65}, "cancelled");
    writeRun(d.file("sweep/control"), {}, "manual", {61}, "");  // nested, still being written
    writeRun(d.file("old"), {2}, "lowest", {50}, "");           // no end event, idle for days
    writeRun(d.file("broken"), {2}, "lowest", {50}, "failed");
    fs::atomicWriteText(d.file("broken/config.json"), "{\"model\": ");  // unreadable config: skipped
    fs::makeDirs(d.file("not-a-run/sub"));
    struct utimbuf old {
        1000000000, 1000000000
    };
    ::utime(d.file("old/metrics.jsonl").c_str(), &old);

    const auto runs = train::listRuns(d.path());
    ASSERT_EQ(runs.size(), 4u);
    EXPECT_EQ(runs[0].name, "nose");
    EXPECT_EQ(runs[1].name, "old");
    EXPECT_EQ(runs[2].name, "random");
    EXPECT_EQ(runs[3].name, "sweep/control");
    EXPECT_EQ(runs[0].status, "finished");
    EXPECT_EQ(runs[0].best_top1, 70);
    EXPECT_EQ(runs[0].final_top1, 68);
    EXPECT_EQ(runs[0].epochs_done, 3);
    EXPECT_EQ(runs[0].blocks, (std::vector<int>{1, 3}));
    EXPECT_EQ(runs[0].selector, "nose");
    EXPECT_EQ(runs[0].model, "final.safetensors");
    EXPECT_EQ(runs[0].world_size, 2);
    EXPECT_EQ(runs[0].steps, 12);
    EXPECT_EQ(runs[1].status, "interrupted");
    EXPECT_EQ(runs[2].status, "cancelled");
    EXPECT_EQ(runs[3].status, "running");
    EXPECT_EQ(runs[3].selector, "none");  // a control / baseline: no block diluted
    // A root that is itself a run folder lists just that run.
    const auto one = train::listRuns(d.file("nose"));
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].name, "nose");
    EXPECT_TRUE(train::listRuns(d.file("missing")).empty());
}

TEST(Runs, AResumedRunIsDecidedByItsLastEndEvent) {
    TempDir d("resumed");
    writeRun(d.file("r"), {1}, "manual", {40}, "cancelled");
    std::string more = json{{"event", "log"}, {"step", 4}, {"message", "resumed at step 4"}}.dump() + "\n";
    auto m = fs::readText(d.file("r/metrics.jsonl")) + more;
    fs::atomicWriteText(d.file("r/metrics.jsonl"), m);
    EXPECT_EQ(train::summarizeRun(d.file("r")).status, "running");
    m += json{{"event", "end"}, {"status", "finished"}, {"step", 8}}.dump() + "\n";
    fs::atomicWriteText(d.file("r/metrics.jsonl"), m);
    EXPECT_EQ(train::summarizeRun(d.file("r")).status, "finished");
}

TEST(Runs, CurvesForTheOverlay) {
    TempDir d("curves");
    writeRun(d.file("r"), {1, 3}, "nose", {60, 70}, "finished");
    const auto c = train::readRunCurves(d.file("r"));
    ASSERT_EQ(c.step.size(), 8u);
    EXPECT_EQ(c.step.front(), 1);
    EXPECT_DOUBLE_EQ(c.loss.front(), 1.9);
    EXPECT_DOUBLE_EQ(c.lambda[3], 0.5);  // mean of the blocks' lambdas at step 4
    EXPECT_EQ(c.epoch, (std::vector<double>{1, 2}));
    EXPECT_EQ(c.top1, (std::vector<double>{60, 70}));
}
