// The evaluation job (eval/job.h): a saved model on real Fashion-MNIST, the fixed-tensor path
// and its refusals, and the JSON every caller prints.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "core/test_util.h"
#include "eval/job.h"
#include "eval/optiontable.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "model/preset.h"
#include "model/vit.h"

using namespace dilute;
using namespace dilute::testing;

namespace {
std::string savedNano(const TempDir& d) {
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    m->initWeights(3);
    const auto path = d.file("nano.safetensors");
    io::saveModel(*m, path);
    return path;
}
}  // namespace

TEST(EvalJob, CountsEveryImageOfTheLimitAndReportsJson) {
    if (!fashionMnistInstalled()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
    TempDir d("eval-job");
    eval::EvalOptions o;
    o.model = savedNano(d);
    o.limit = 300;
    o.batch = 64;
    long long seen = 0;
    eval::EvalObserver obs;
    obs.progress = [&](const Progress& p) { seen = p.done; };
    const auto r = eval::runEval(o, obs);
    EXPECT_EQ(r.images, 300);
    EXPECT_EQ(seen, 300 / 64 + 1);  // progress counts batches
    EXPECT_GE(r.top1, 0);
    EXPECT_LE(r.top1, r.top5);
    EXPECT_GT(r.loss, 0);
    EXPECT_EQ(r.data, "fashion-mnist");  // the model's default
    const auto j = nlohmann::json::parse(eval::evalToJson(r));
    EXPECT_EQ(j["images"], 300);
    EXPECT_DOUBLE_EQ(j["top1"].get<double>(), r.top1);
}

TEST(EvalJob, AnInputTensorGivesItsLogitsAndNeedsAnOutput) {
    TempDir d("eval-logits");
    eval::EvalOptions o;
    o.model = savedNano(d);
    o.input = d.file("in.safetensors");
    io::writeSafetensors(o.input, {{"input", torch::randn({3, 1, 28, 28})}});
    EXPECT_NE(errorText([&] { eval::runEval(o); }).find("--logits-out"), std::string::npos);
    o.logits_out = d.file("logits.safetensors");
    const auto r = eval::runEval(o);
    EXPECT_EQ(r.logits_rows, 3);
    EXPECT_EQ(r.logits_cols, 10);
    const auto back = io::readSafetensors(o.logits_out);
    ASSERT_NE(back.find("logits"), nullptr);
    EXPECT_EQ(back.find("logits")->size(0), 3);
}

TEST(EvalJob, TheTableCoversEveryOptionOnce) {
    std::set<std::string> names, flags;
    for (const auto& s : eval::evalOptionTable()) {
        EXPECT_TRUE(names.insert(s.name).second) << s.name;
        EXPECT_TRUE(flags.insert(s.flags).second) << s.flags;
    }
    for (const char* n : {"model", "data", "split", "limit", "input", "logits_out", "batch", "device"})
        EXPECT_EQ(names.count(n), 1u) << n;
}
