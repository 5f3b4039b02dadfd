// The selection study job (experiment/study.h) end to end on Fashion-MNIST, its refusals before
// any work, and its files read back. The sweep it runs: tests/core/analysis/test_sweep.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <set>

#include "analysis/profile.h"
#include "analysis/selectors.h"
#include "analysis/sweep.h"
#include "analysis/transfer.h"
#include "core/test_models.h"
#include "core/test_util.h"
#include "experiment/study.h"
#include "io/weights.h"
#include "model/vit.h"
#include "util/error.h"
#include "util/files.h"

using namespace dilute;
using namespace dilute::analysis;
using dilute::testing::TempDir;

namespace {

using dilute::testing::stretchedModel;

}  // namespace

TEST(Study, EndToEndOnFashionMnistWritesReadsAndFineTunes) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir d("study");
    auto m = stretchedModel(11, 4);
    const std::string weights = d.file("model.safetensors");
    io::saveModel(*m, weights);
    experiment::StudyOptions o;
    o.model = weights;
    o.data = "fashion-mnist";
    o.out_dir = d.file("study");
    o.k = 2;
    o.seeds = 2;
    o.calib = 96;
    o.eval_images = 200;
    o.batch = 64;
    o.workers = 1;
    o.finetune_epochs = 1;
    o.finetune_batch = 32;
    o.finetune_train_limit = 64;
    std::vector<std::string> phases;
    int partials = 0;
    experiment::StudyObserver obs;
    obs.progress = [&](const Progress& p) {
        if (phases.empty() || phases.back() != p.phase) phases.push_back(p.phase);
    };
    obs.partial = [&](const experiment::StudyResult&) { ++partials; };
    const auto r = experiment::runStudy(o, obs);
    EXPECT_EQ(r.k, 2);
    EXPECT_EQ(r.depth, 4);
    EXPECT_EQ(r.calib, 96);
    EXPECT_EQ(r.eval_images, 200);
    EXPECT_GE(partials, 3);
    EXPECT_NE(std::find(phases.begin(), phases.end(), "sweep"), phases.end());
    EXPECT_NE(std::find(phases.begin(), phases.end(), "finetune"), phases.end());
    // The selectors, random once per seed, and the sweep's min-T and oracle.
    std::multiset<std::string> names;
    for (const auto& a : r.arms) names.insert(a.selector);
    EXPECT_EQ(names, (std::multiset<std::string>{"nose", "nose-abs", "lowest", "first", "max-t", "random", "random",
                                                 "min-t", "oracle"}));
    ASSERT_EQ(r.subsets.size(), 6u);  // C(4,2)
    double best = -1, sum = 0, minT = INFINITY;
    for (const auto& s : r.subsets) best = std::max(best, s.zero_shot), sum += s.zero_shot, minT = std::min(minT, s.t);
    EXPECT_NEAR(r.random_expected, sum / 6, 1e-9);
    for (const auto& a : r.arms) {
        ASSERT_EQ(a.blocks.size(), 2u) << a.selector;
        EXPECT_GE(a.rank, 1);
        EXPECT_LE(a.rank, 6);
        // Every arm's T and zero-shot top-1 is that of its subset in the sweep.
        auto key = a.blocks;
        std::sort(key.begin(), key.end());
        auto it = std::find_if(r.subsets.begin(), r.subsets.end(), [&](const auto& s) { return s.blocks == key; });
        ASSERT_NE(it, r.subsets.end());
        EXPECT_EQ(a.t, it->t) << a.selector;
        EXPECT_EQ(a.zero_shot, it->zero_shot) << a.selector;
        if (a.selector == "oracle") {
            EXPECT_EQ(a.zero_shot, best);
            EXPECT_EQ(a.rank, 1);
            EXPECT_DOUBLE_EQ(a.percentile, 100.0);
        }
        if (a.selector == "min-t") EXPECT_EQ(a.t, minT);
        if (a.selector == "first") EXPECT_EQ(a.blocks, (std::vector<int>{0, 1}));
        const bool tuned = a.selector != "min-t" && a.selector != "oracle";
        EXPECT_EQ(std::isfinite(a.finetuned), tuned) << a.selector;
        if (tuned) EXPECT_TRUE(dilute::fs::exists(dilute::fs::join(a.run_dir, "final.safetensors"))) << a.run_dir;
    }
    EXPECT_TRUE(std::isfinite(r.control_finetuned));
    EXPECT_TRUE(std::isfinite(r.spearman_t_top1) || r.subsets.size() < 2);
    // Arms that chose the same set share one run.
    for (const auto& a : r.arms)
        for (const auto& b : r.arms)
            if (!a.run_dir.empty() &&
                std::set<int>(a.blocks.begin(), a.blocks.end()) == std::set<int>(b.blocks.begin(), b.blocks.end()) &&
                !b.run_dir.empty())
                EXPECT_EQ(a.run_dir, b.run_dir);
    // Written, and read back the same.
    for (const char* f : {"study.json", "study.md", "arms.csv", "subsets.csv"})
        EXPECT_TRUE(dilute::fs::exists(dilute::fs::join(o.out_dir, f))) << f;
    const auto back = experiment::readStudy(o.out_dir);
    EXPECT_EQ(experiment::studyToJson(back), experiment::studyToJson(r));
    const std::string md = dilute::fs::readText(dilute::fs::join(o.out_dir, "study.md"));
    EXPECT_NE(md.find("Spearman"), std::string::npos);
    EXPECT_NE(md.find("control (nothing removed)"), std::string::npos);
    // An earlier study is never replaced silently.
    try {
        experiment::runStudy(o);
        FAIL() << "a second study into the same folder was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("already holds a study"), std::string::npos) << e.what();
    }
}

TEST(Study, RefusesBadOptionsBeforeAnyWork) {
    experiment::StudyOptions o;
    o.model = "vit_nano_patch7_28";
    auto msg = [&](experiment::StudyOptions x) {
        try {
            experiment::runStudy(x);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    auto k0 = o;
    k0.k = 0;
    EXPECT_NE(msg(k0).find("--k 0"), std::string::npos);
    auto ft = o;
    ft.finetune_epochs = 1;
    ft.out_dir = "/tmp/never-written";
    EXPECT_NE(msg(ft).find("is a preset"), std::string::npos);
    auto noOut = o;
    noOut.model = "some.safetensors";
    noOut.finetune_epochs = 1;
    EXPECT_NE(msg(noOut).find("needs --out"), std::string::npos);
    auto ex = o;
    ex.exhaustive = "maybe";
    EXPECT_NE(msg(ex).find("--exhaustive"), std::string::npos);
    auto big = o;
    big.k = 7;  // vit_nano has 6 blocks
    big.data = "fashion-mnist";
    big.calib = 16;
    big.eval_images = 20;
    if (dilute::testing::fashionMnistInstalled()) EXPECT_NE(msg(big).find("only 6 blocks"), std::string::npos);
    // A sweep above the bound is refused before it runs, with the count, an estimate and the option.
    auto sweep = o;
    sweep.k = 3;  // C(6,3) = 20 subsets
    sweep.exhaustive = "on";
    sweep.max_subsets = 10;
    sweep.data = "fashion-mnist";
    sweep.calib = 16;
    sweep.eval_images = 20;
    sweep.seeds = 1;
    if (dilute::testing::fashionMnistInstalled()) {
        const auto e = msg(sweep);
        EXPECT_NE(e.find("C(6,3) = 20 subsets, about"), std::string::npos) << e;
        EXPECT_NE(e.find("above --max-subsets 10"), std::string::npos) << e;
        sweep.max_subsets = 20;
        EXPECT_EQ(msg(sweep), "accepted");
    }
    auto negative = o;
    negative.max_subsets = -1;
    EXPECT_NE(msg(negative).find("--max-subsets"), std::string::npos);
    EXPECT_FALSE(dilute::fs::exists("/tmp/never-written"));
    // Images that would not fit in memory are refused before one is read, naming the option.
    const auto deit = model::preset("deit_small_patch16_224");
    EXPECT_NO_THROW(checkImagesFit(2048, deit, "calibration images", "--calib"));
    try {
        checkImagesFit(size_t(1) << 40, deit, "test images", "--eval-images");
        ADD_FAILURE() << "2^40 images accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--eval-images"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("224x224x3"), std::string::npos) << e.what();
    }
}

TEST(Study, ReadStudyNamesTheFileAndTheProblem) {
    TempDir d("studyread");
    experiment::StudyResult r;
    r.model = "m";
    r.data = "fashion-mnist";
    r.depth = 4;
    r.k = 2;
    r.arms.push_back({"nose", 0, {0, 3}, 0.5, 80, NAN, 0, NAN, ""});
    r.subsets.push_back({{0, 3}, 0.5, 80});
    experiment::writeStudy(d.path(), r);
    const auto ok = experiment::readStudy(d.path());
    EXPECT_EQ(ok.arms.at(0).blocks, (std::vector<int>{0, 3}));
    const std::string path = d.file("study.json");
    const std::string text = dilute::fs::readText(path);
    auto expectError = [&](const std::string& content, const std::string& what) {
        std::ofstream(path, std::ios::trunc) << content;
        try {
            experiment::readStudy(path);
            ADD_FAILURE() << "accepted: " << what;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
    };
    expectError(text.substr(0, text.size() / 2), "not valid JSON");
    expectError("{\"format\": \"dilute.analysis/1\"}", "not a Dilute study file");
    std::string bad = text;
    bad.replace(bad.find("\"k\": 2"), 6, "\"k\": 9");
    expectError(bad, "do not fit");
    bad = text;
    bad.replace(bad.find("\"depth\": 4"), 10, "\"depth\": 1e300");
    expectError(bad, "depth");
    bad = text;
    const auto at = bad.find("\"blocks\": [");
    bad.replace(at, 11, "\"blocks\": [7,");
    expectError(bad, "out of range");
    bad = text;
    bad.replace(bad.find("\"full_top1\""), 11, "\"full_topX\"");
    expectError(bad, "unknown key 'full_topX' (did you mean 'full_top1'?)");  // ours: every key known
    bad = text;
    bad.replace(bad.find("\"run_dir\""), 9, "\"run_dri\"");
    expectError(bad, "arms: unknown key 'run_dri' (did you mean 'run_dir'?)");
    bad = text;
    bad.erase(bad.find("\"k\": 2,"), 7);
    expectError(bad, "incomplete study file");
    expectError("", "not valid JSON");
    EXPECT_THROW(experiment::readStudy(d.file("missing")), Error);
}
