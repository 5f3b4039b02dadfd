#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "bench/bench.h"
#include "bench/measure.h"

#include <filesystem>
#include "core/test_util.h"
#include "io/export.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "model/cost.h"
#include "util/error.h"

using namespace dilute;
using dilute::testing::TempDir;

namespace {

// A trained-looking diluted model file: random weights, blocks 1 and 3 at lambda 0.
std::string dilutedFile(const TempDir& d, double lambda3 = 0.0) {
    auto cfg = model::preset("vit_nano_patch7_28");
    auto m = model::buildModel(cfg);
    m->initWeights(21);
    {
        torch::NoGradGuard ng;
        for (auto& p : m->parameters())
            if (p.dim() == 2) p.mul_(5.0);  // larger activations: eps of the final norm becomes negligible
    }
    m->block(1)->setLambda(0.0);
    m->block(3)->setLambda(lambda3);
    const auto path = d.file("diluted.safetensors");
    io::saveModel(*m, path);
    return path;
}

}  // namespace

TEST(Export, PrunedModelAndTorchScriptGiveSameLogits) {
    TempDir d("export");
    const auto src = dilutedFile(d);
    io::ExportOptions o;
    o.model = src;
    o.out = d.file("pruned.safetensors");
    o.torchscript = d.file("pruned.pt");
    auto r = io::exportPruned(o);
    EXPECT_EQ(r.removed, (std::vector<int>{1, 3}));
    auto diluted = io::openModel(src);
    auto pruned = io::openModel(o.out);
    diluted->eval();
    pruned->eval();
    EXPECT_EQ(pruned->removedBlocks(), (std::vector<int>{1, 3}));
    EXPECT_TRUE(pruned->folded());
    auto f = io::readSafetensors(o.out);
    EXPECT_EQ(f.find("blocks.1.attn.qkv.weight"), nullptr);
    EXPECT_EQ(f.find("blocks.3.norm1.weight"), nullptr);
    torch::NoGradGuard ng;
    auto x = torch::randn({5, 1, 28, 28});
    auto a = diluted->forward(x), b = pruned->forward(x);
    const double scale = a.abs().max().item<double>();
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-3 * scale);
    auto ts = torch::jit::load(o.torchscript);
    auto c = ts.forward({x}).toTensor();
    EXPECT_TRUE(torch::allclose(c, b, 1e-4, 1e-5)) << (c - b).abs().max().item<double>();
    EXPECT_EQ(a.argmax(1).eq(b.argmax(1)).sum().item<int64_t>(), 5);
}

TEST(Export, UnfoldedExportKeepsDoubling) {
    TempDir d("unfold");
    io::ExportOptions o;
    o.model = dilutedFile(d);
    o.out = d.file("p.safetensors");
    o.fold = false;
    io::exportPruned(o);
    auto p = io::openModel(o.out);
    EXPECT_FALSE(p->folded());
    EXPECT_EQ(p->block(1)->residualScale(), 2.0);
    auto a = io::openModel(o.model);
    a->eval();
    p->eval();
    auto x = torch::randn({2, 1, 28, 28});
    EXPECT_TRUE(torch::allclose(a->forward(x), p->forward(x), 1e-5, 1e-5));
}

TEST(Export, RefusesWhileLambdaIsNotZero) {
    TempDir d("refuse");
    io::ExportOptions o;
    o.model = dilutedFile(d, 0.25);
    o.out = d.file("p.safetensors");
    try {
        io::exportPruned(o);
        ADD_FAILURE() << "export of lambda 0.25 was not refused";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("3 (lambda 0.25"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(o.out));
    o.force = true;
    EXPECT_EQ(io::exportPruned(o).removed, (std::vector<int>{1, 3}));
    // A model with no diluted block has nothing to export.
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    io::saveModel(*m, d.file("plain.safetensors"));
    o.model = d.file("plain.safetensors");
    EXPECT_THROW(io::exportPruned(o), Error);
    o.model = d.file("missing-run");
    EXPECT_THROW(io::exportPruned(o), Error);
}

TEST(Bench, MeasuredDeltasEqualAnalyticOnes) {
    for (const auto& [name, removed] : std::vector<std::pair<std::string, std::vector<int>>>{
             {"deit_tiny_patch16_224", {0, 2, 4, 6}}, {"deit_small_patch16_224", {0, 2, 4, 6}}}) {
        auto full = model::buildModel(model::preset(name));
        auto pruned = model::buildModel(model::preset(name));
        pruned->removeAttention(removed, true);
        bench::BenchOptions o;
        o.batch = 1;
        o.repeats = 1;
        o.latency_runs = 1;
        o.warmup = 0;
        auto a = bench::benchModel(*full, "full", o);
        auto b = bench::benchModel(*pruned, "pruned", o);
        const auto ca = model::analyticCost(model::preset(name)),
                   cb = model::analyticCost(model::preset(name), removed);
        EXPECT_EQ(a.params - b.params, ca.params - cb.params);
        EXPECT_NEAR(a.gmac - b.gmac, ca.gmac() - cb.gmac(), 1e-9);
        EXPECT_GT(a.images_per_s, 0);
        EXPECT_GT(b.latency_p50_ms, 0);
    }
    // SPEC table: DeiT-T 5.72M/1.26 -> 5.12M/1.08 and DeiT-S 22.05M/4.61 -> 19.68M/4.02 with 4 removed.
    auto t = model::analyticCost(model::preset("deit_tiny_patch16_224"), {0, 2, 4, 6});
    auto s = model::analyticCost(model::preset("deit_small_patch16_224"), {0, 2, 4, 6});
    EXPECT_NEAR(t.params / 1e6, 5.12, 0.01);
    EXPECT_NEAR(t.gmac(), 1.08, 0.02 * 1.08);
    EXPECT_NEAR(s.params / 1e6, 19.68, 0.01);
    EXPECT_NEAR(s.gmac(), 4.02, 0.02 * 4.02);
}

TEST(ExportAndMeasure, OneJobExportsEvaluatesAndBenchesBoth) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir d("measure");
    const auto diluted = dilutedFile(d);
    bench::MeasureOptions o;
    o.run = diluted;
    o.out_dir = d.file("export");
    o.baseline = diluted;  // the same weights, unpruned: top-1 must match the pruned one exactly
    o.device = "cpu";
    o.eval_images = 300;
    o.bench.batch = 8;
    o.bench.repeats = 1;
    o.bench.latency_runs = 2;
    o.bench.rounds = 1;
    std::vector<std::string> phases;
    bench::MeasureObserver obs;
    obs.progress = [&](const Progress& p) { phases.push_back(p.phase); };
    const auto r = bench::exportAndMeasure(o, obs);
    EXPECT_EQ(r.exported.removed, (std::vector<int>{1, 3}));
    EXPECT_TRUE(std::filesystem::exists(r.pruned_path));
    EXPECT_TRUE(std::filesystem::exists(r.torchscript_path));
    ASSERT_GE(r.top1_full, 0);
    EXPECT_NEAR(r.top1_pruned, r.top1_full, 0.34);  // at most one of 300 images may flip on fp rounding
    EXPECT_LT(r.pruned.params, r.full.params);
    EXPECT_LT(r.pruned.gmac, r.full.gmac);
    EXPECT_EQ(phases, (std::vector<std::string>{"export", "evaluate", "bench", "bench"}));
    // eval_images 0 skips the evaluation (the demo has its own accuracy).
    o.eval_images = 0;
    o.out_dir = d.file("export2");
    EXPECT_EQ(bench::exportAndMeasure(o).top1_full, -1);
    // A device that is not there is an error before anything is written.
    o.device = "cuda";
    o.out_dir = d.file("export3");
    if (!torch::cuda::is_available()) {
        EXPECT_THROW(bench::exportAndMeasure(o), std::exception);
        EXPECT_FALSE(std::filesystem::exists(d.file("export3/pruned.safetensors")));
    }
}
