// kill -9 at every point of a checkpoint write (fault injection: DILUTE_CRASH_POINT), then
// --resume: the run continues from the last whole set and ends as an uninterrupted run does.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "run_cli.h"

namespace {

std::string scratch(const std::string& tag) {
    auto d = std::filesystem::temp_directory_path() / ("dilute-crash-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(d);
    return d.string();
}

const std::string kTrain =
    "train -m vit_nano_patch7_28 --epochs 2 --train-limit 320 --test-limit 256 --batch 64 --select 2 --workers 1 -o ";

struct Events {
    std::vector<double> losses;
    std::vector<double> top1;
};

Events events(const std::string& run) {
    Events e;
    std::ifstream in(run + "/metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        if (j["event"] == "step") e.losses.push_back(j["loss"]);
        if (j["event"] == "epoch") e.top1.push_back(j["test_top1"]);
    }
    return e;
}

long long lastStep(const std::string& run) {
    std::ifstream in(run + "/checkpoints/last.json");
    return nlohmann::json::parse(in)["step"];
}

}  // namespace

TEST(Crash, KillDuringAnyCheckpointWriteLeavesAResumableRun) {
    if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP();
    const auto ref = scratch("ref");
    auto r = dilute::testing::runCli(kTrain + ref);
    ASSERT_EQ(r.rc, 0) << r.text;
    const auto want = events(ref);
    ASSERT_EQ(want.top1.size(), 2u);
    // The second save (end of epoch 2): mid-set, set complete but no pointer, pointer switched.
    const std::vector<std::pair<std::string, long long>> points = {
        {"set-partial:2", 5}, {"set-written:2", 5}, {"pointer-written:2", 10}};
    for (const auto& [point, stepKept] : points) {
        SCOPED_TRACE(point);
        const auto d = scratch("run");
        auto c = dilute::testing::runCli(kTrain + d, "DILUTE_CRASH_POINT=" + point);
        ASSERT_EQ(c.rc, 137) << c.text;
        EXPECT_FALSE(std::filesystem::exists(d + "/final.safetensors"));
        EXPECT_EQ(lastStep(d), stepKept);
        auto res = dilute::testing::runCli("train --resume " + d);
        ASSERT_EQ(res.rc, 0) << res.text;
        const auto got = events(d);
        ASSERT_EQ(got.losses.size(), want.losses.size());
        for (size_t i = 0; i < got.losses.size(); ++i)
            EXPECT_NEAR(got.losses[i], want.losses[i], 1e-5 * std::max(1.0, std::fabs(want.losses[i]))) << "step " << i;
        ASSERT_EQ(got.top1.size(), 2u);  // every epoch evaluated and logged exactly once
        EXPECT_NEAR(got.top1[1], want.top1[1], 1e-9);
        for (const auto& e : std::filesystem::directory_iterator(d + "/checkpoints")) {
            const auto name = e.path().filename().string();
            EXPECT_TRUE(name == "last.json" || name == "best.json" || name.rfind("step-000000010", 0) == 0) << name;
        }
        std::filesystem::remove_all(d);
    }
    std::filesystem::remove_all(ref);
}
