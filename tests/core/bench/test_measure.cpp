// The export-and-measure job's notes (bench/measure.h): a baseline that is not the model the run
// started from (config.json's starting_weights), and the weights fingerprint they rest on.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "bench/measure.h"
#include "core/test_util.h"
#include "io/weights.h"
#include "model/preset.h"
#include "model/vit.h"
#include "train/trainer.h"
#include "util/files.h"

using namespace dilute;
using dilute::testing::TempDir;

namespace {
std::string savedStart(const TempDir& d, const std::string& name, uint64_t seed) {
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    m->initWeights(seed);
    const auto path = d.file(name);
    io::saveModel(*m, path);
    return path;
}

bench::MeasureOptions quickMeasure(const std::string& run, const std::string& baseline, const std::string& out) {
    bench::MeasureOptions o;
    o.run = run;
    o.baseline = baseline;
    o.out_dir = out;
    o.device = "cpu";
    o.eval_images = 0;
    o.onnx = o.timm = false;
    o.bench.batch = 4;
    o.bench.repeats = 1;
    o.bench.latency_runs = 2;
    o.bench.rounds = 1;
    return o;
}
}  // namespace

TEST(WeightsFingerprint, FollowsTheNumbersNotTheFile) {
    TempDir d("fp");
    auto a = io::openModel(savedStart(d, "a.safetensors", 1));
    auto again = io::openModel(d.file("a.safetensors"));
    auto b = io::openModel(savedStart(d, "b.safetensors", 2));
    EXPECT_EQ(io::weightsFingerprint(*a), io::weightsFingerprint(*again));
    EXPECT_NE(io::weightsFingerprint(*a), io::weightsFingerprint(*b));
    EXPECT_EQ(io::weightsFingerprint(*a).size(), 8u);
    torch::NoGradGuard ng;
    a->parameters().front().view(-1)[0].add_(1e-3);  // one number changed
    EXPECT_NE(io::weightsFingerprint(*a), io::weightsFingerprint(*again));
}

TEST(Measure, ABaselineThatIsNotTheRunsStartIsANote) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir d("measure-notes");
    train::TrainOptions t;
    t.model = savedStart(d, "start.safetensors", 5);
    t.data = "fashion-mnist";
    t.out_dir = d.file("run");
    t.epochs = 1;
    t.batch = 64;
    t.train_limit = 128;
    t.test_limit = 64;
    t.workers = 1;
    t.device = "cpu";
    t.select = "1";
    t.schedule.end = 0.5;  // lambda reaches 0 within the run: exportable
    train::train(t, {});
    const auto cfg = nlohmann::json::parse(fs::readText(d.file("run/config.json")));
    ASSERT_TRUE(cfg.contains("starting_weights"));
    EXPECT_EQ(cfg["starting_weights"]["model"], t.model);

    // The run's own start: no note. Another model of the same shape: a note naming both.
    const auto own = bench::exportAndMeasure(quickMeasure(t.out_dir, t.model, d.file("m1")));
    EXPECT_TRUE(own.notes.empty()) << own.notes.front();
    const auto other =
        bench::exportAndMeasure(quickMeasure(t.out_dir, savedStart(d, "other.safetensors", 6), d.file("m2")));
    ASSERT_EQ(other.notes.size(), 1u);
    EXPECT_NE(other.notes[0].find("other.safetensors"), std::string::npos) << other.notes[0];
    EXPECT_NE(other.notes[0].find("start.safetensors"), std::string::npos) << other.notes[0];
    const auto written = nlohmann::json::parse(fs::readText(d.file("m2/measure.json")));
    EXPECT_EQ(written["notes"].size(), 1u);

    // A damaged record (a number where the fingerprint was) is no evidence: no note, no error.
    auto damaged = cfg;
    damaged["starting_weights"]["fingerprint"] = 5;
    fs::atomicWriteText(d.file("run/config.json"), damaged.dump(2));
    EXPECT_TRUE(
        bench::exportAndMeasure(quickMeasure(t.out_dir, d.file("other.safetensors"), d.file("m3"))).notes.empty());
}
