// bench/benchjob.cpp: `dilute bench` as a job: A alone, A against A minus some blocks' attention,
// its JSON, and its refusals.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "bench/benchjob.h"
#include "util/error.h"

using namespace dilute;

namespace {
bench::BenchJobOptions quick() {
    bench::BenchJobOptions o;
    o.model = "vit_nano_patch7_28";
    o.bench.batch = 4;
    o.bench.warmup = 0;
    o.bench.repeats = 1;
    o.bench.latency_runs = 2;
    o.bench.rounds = 1;
    o.bench.device = "cpu";
    return o;
}
}  // namespace

TEST(BenchJob, OneModelOrTwoAlternately) {
    auto o = quick();
    const auto alone = bench::runBench(o);
    EXPECT_FALSE(alone.compared());
    EXPECT_GT(alone.a.params, 0);
    EXPECT_GT(alone.a.images_per_s, 0);
    auto j = nlohmann::json::parse(bench::benchJobToJson(alone));
    EXPECT_EQ(j["device"], "cpu");
    EXPECT_EQ(j["batch"], 4);
    EXPECT_EQ(j["precision"], "fp32");  // says what it ran in
    EXPECT_EQ(j["a"]["precision"], "fp32");
    EXPECT_FALSE(j.contains("b"));
    o.remove = "0,2";
    const auto pair = bench::runBench(o);
    ASSERT_TRUE(pair.compared());
    EXPECT_EQ(pair.name_b, "vit_nano_patch7_28 minus attention 0,2");
    EXPECT_EQ(pair.b.removed, (std::vector<int>{0, 2}));
    EXPECT_LT(pair.b.params, pair.a.params);
    EXPECT_LT(pair.b.gmac, pair.a.gmac);
    j = nlohmann::json::parse(bench::benchJobToJson(pair));
    EXPECT_NEAR(j["ratios"]["params"].get<double>(), double(pair.b.params) / pair.a.params, 1e-12);
    EXPECT_TRUE(j.contains("throughput_gain_vs_ideal"));
}

TEST(BenchJob, RefusesWhatItCannotMeasure) {
    auto o = quick();
    o.model.clear();
    EXPECT_THROW(bench::runBench(o), Error);
    o = quick();
    o.vs = "vit_nano_patch7_28";
    o.remove = "1";
    try {
        bench::runBench(o);
        ADD_FAILURE() << "--vs with --remove was not refused";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--vs and --remove"), std::string::npos) << e.what();
    }
    o.vs.clear();
    o.remove = "7";
    EXPECT_THROW(bench::runBench(o), Error);
}

TEST(BenchJob, MixedPrecisionNeedsCuda) {
    auto o = quick();
    o.bench.precision = "bf16";
    try {
        bench::runBench(o);
        ADD_FAILURE() << "bf16 on the CPU was not refused";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--precision bf16: mixed precision needs a CUDA device"),
                  std::string::npos)
            << e.what();
    }
    o.bench.precision = "fp8";
    EXPECT_THROW(bench::runBench(o), Error);  // not one of the table's choices
}
