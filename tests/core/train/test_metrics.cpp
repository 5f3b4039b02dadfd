// metrics.jsonl read back: the one parser, and the follower that watches a run being written.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/test_util.h"
#include "train/metrics.h"

using namespace dilute;
using dilute::testing::TempDir;
using K = train::MetricsEvent::Kind;

TEST(Metrics, ParsesEveryEventKindAndRefusesDamage) {
    auto s = train::parseMetricsLine(
        R"({"event":"step","step":3,"epoch":1,"loss":0.5,"lr":0.1,"images_per_s":9,"blocks":[1,4],"lambda":[0.5,0.5],"sync_s":0.01,"step_s":0.2})");
    ASSERT_EQ(s.kind, K::Step);
    EXPECT_EQ(s.step.step, 3);
    EXPECT_EQ(s.step.blocks, (std::vector<int>{1, 4}));
    EXPECT_DOUBLE_EQ(s.sync_seconds, 0.01);
    auto e = train::parseMetricsLine(R"({"event":"epoch","epoch":2,"test_top1":51.5,"best":true})");
    ASSERT_EQ(e.kind, K::Epoch);
    EXPECT_DOUBLE_EQ(e.epoch.test_top1, 51.5);
    EXPECT_TRUE(e.epoch.best);
    EXPECT_EQ(train::parseMetricsLine(R"({"event":"end","status":"cancelled"})").status, "cancelled");
    EXPECT_EQ(train::parseMetricsLine(R"({"event":"step","step":"three"})").kind, K::Bad);
    EXPECT_EQ(train::parseMetricsLine("{\"event\":\"step\",").kind, K::Bad);
    EXPECT_EQ(train::parseMetricsLine("[1,2]").kind, K::Bad);
    EXPECT_EQ(train::parseMetricsLine(R"({"event":"other"})").kind, K::Other);
}

TEST(Metrics, FollowerReturnsWholeNewLinesAndStartsOverWhenReplaced) {
    TempDir d("metrics");
    const std::string path = d.file("metrics.jsonl");
    train::MetricsFollower f(path);
    EXPECT_TRUE(f.poll().empty());  // not written yet
    {
        std::ofstream out(path, std::ios::app);
        out << R"({"event":"step","step":1})"
            << "\n"
            << R"({"event":"step",)";
    }
    auto a = f.poll();
    ASSERT_EQ(a.size(), 1u);
    EXPECT_FALSE(f.restarted());
    {
        std::ofstream out(path, std::ios::app);
        out << R"("step":2})"
            << "\n"
            << R"({"event":"end","status":"finished"})"
            << "\n";
    }
    auto b = f.poll();
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(b[0].step.step, 2);
    EXPECT_TRUE(f.ended());
    EXPECT_EQ(f.status(), "finished");
    EXPECT_EQ(f.events(), 3);
    // Replaced by a new run (new file): everything again, flagged as a restart.
    std::remove(path.c_str());
    {
        std::ofstream out(path);
        out << R"({"event":"step","step":1})"
            << "\n";
    }
    auto c = f.poll();
    EXPECT_TRUE(f.restarted());
    EXPECT_FALSE(f.ended());
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(train::readMetrics(path).size(), 1u);
}
