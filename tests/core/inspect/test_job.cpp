// The inspection job end to end: its maps against an independent PyTorch computation on models of
// several families (tests/reference/make_inspect_golden.py), the per-image comparison, the
// memory check and what it writes.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/test_util.h"
#include "inspect/compare.h"
#include "inspect/job.h"
#include "io/safetensors.h"
#include "io/weights.h"

using namespace dilute;
using dilute::testing::errorText;

namespace {
std::string golden(const std::string& f) { return std::string(DILUTE_SOURCE_DIR) + "/tests/data/golden/" + f; }

inspect::InspectOptions onGoldenInput(const std::string& model) {
    inspect::InspectOptions o;
    o.model = model;
    o.heads = 2;
    o.input = golden("input.safetensors");
    o.device = "cpu";
    return o;
}

torch::Tensor asTensor(const std::vector<float>& v, std::vector<int64_t> shape) {
    return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat).clone();
}

void expectClose(const torch::Tensor& got, const torch::Tensor& want, const char* what) {
    ASSERT_EQ(got.sizes(), want.sizes()) << what;
    EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-6, /*equal_nan=*/true))
        << what << ": max difference " << (got - want).abs().nan_to_num(0).max().item<float>();
}
}  // namespace

TEST(InspectJob, MapsEqualAnIndependentPyTorchComputation) {
    dilute::testing::TempDir tmp("inspect-golden");
    {  // block 1's attention removed (unfolded: x -> 2x), as the reference does
        io::OpenOptions oo;
        oo.heads = 2;
        auto m = io::openModel(golden("plain.pth"), oo);
        m->removeAttention({1}, false);
        io::saveModel(*m, tmp.file("removed1.safetensors"));
    }
    const std::map<std::string, std::string> files = {{"plain", golden("plain.pth")},
                                                      {"plain_removed1", tmp.file("removed1.safetensors")},
                                                      {"distilled_hub", golden("distilled_hub")},
                                                      {"reg_ema", golden("reg_ema.pth")},
                                                      {"avg_ddp", golden("avg_ddp.pth")}};
    const auto want = io::readSafetensors(golden("inspect.safetensors"));
    for (const auto& [name, file] : files) {
        SCOPED_TRACE(name);
        const auto r = inspect::runInspect(onGoldenInput(file));
        const int64_t N = int64_t(r.count()), L = r.depth, H = r.heads, P = r.patches();
        ASSERT_EQ(N, 2);
        expectClose(asTensor(r.rollout, {N, P}), *want.find(name + ".rollout"), "rollout");
        std::vector<float> dist(r.mean_distance.begin(), r.mean_distance.end());
        expectClose(asTensor(dist, {L, H}), *want.find(name + ".mean_distance"), "mean distance");
        const auto* cls = want.find(name + ".cls_attention");
        EXPECT_EQ(cls != nullptr, r.class_token);
        if (cls) expectClose(asTensor(r.cls, {N, L, H, P}), *cls, "class-token maps");
    }
}

TEST(InspectJob, ComparisonListsFlipsConfusionAndLargestChanges) {
    inspect::InspectResult r;
    r.classes = 3;
    //                 source label pred p_label pred_vs p_label_vs
    r.images = {{"a", 0, 0, 0.9, 1, 0.2}, {"b", 1, 2, 0.1, 1, 0.7}, {"c", 2, 2, 0.8, 2, 0.75}, {"d", -1, 0, 0, 1, 0}};
    inspect::compareImages(r, "other");
    ASSERT_TRUE(r.compared);
    const auto& c = r.comparison;
    EXPECT_EQ(c.right_to_wrong, std::vector<int>{0});
    EXPECT_EQ(c.wrong_to_right, std::vector<int>{1});
    EXPECT_NEAR(c.top1, 200.0 / 3, 1e-9);  // the unlabelled image counts nowhere
    EXPECT_NEAR(c.top1_vs, 200.0 / 3, 1e-9);
    EXPECT_EQ(c.largest_changes, (std::vector<int>{0, 1, 2}));  // |0.7|, |0.6|, |0.05|
    EXPECT_EQ(c.confusion, (std::vector<int>{1, 0, 0, 0, 0, 1, 0, 0, 1}));
    EXPECT_EQ(c.confusion_vs, (std::vector<int>{0, 1, 0, 0, 1, 0, 0, 0, 1}));
}

TEST(InspectJob, RefusesBeforeAllocatingWhatWouldNotFit) {
    inspect::InspectOptions o;
    o.model = "vit_nano_patch7_28";
    o.images = 100000000;
    const auto e = errorText([&] { inspect::runInspect(o); });
    EXPECT_NE(e.find("100000000 images"), std::string::npos) << e;
    EXPECT_NE(e.find("--images"), std::string::npos) << e;
    EXPECT_GT(inspect::inspectBytes(10, 12, 6, 197, 196, 1000, 128, 8), 10ull * 12 * 6 * 196 * 4);
}

TEST(InspectJob, RefusesAModelThatTakesOtherImages) {
    auto o = onGoldenInput(golden("plain.pth"));
    o.vs = "vit_nano_patch7_28";
    const auto e = errorText([&] { inspect::runInspect(o); });
    EXPECT_NE(e.find("cannot compare"), std::string::npos) << e;
    EXPECT_NE(e.find("28 px"), std::string::npos) << e;
}

TEST(InspectJob, WritesJsonTensorsAndOverlays) {
    dilute::testing::TempDir tmp("inspect-write");
    auto o = onGoldenInput(golden("plain.pth"));
    o.vs = golden("plain.pth");
    const auto r = inspect::runInspect(o);
    inspect::writeInspect(tmp.path(), r, 1);
    const auto j = nlohmann::json::parse(std::ifstream(tmp.file("inspect.json")));
    EXPECT_EQ(j.at("format"), "dilute.inspect/1");
    EXPECT_EQ(j.at("images").size(), 2u);
    EXPECT_EQ(j.at("comparison").at("right_to_wrong").size(), 0u);  // a model against itself
    const auto t = io::readSafetensors(tmp.file("inspect.safetensors"));
    ASSERT_NE(t.find("cls_attention"), nullptr);
    EXPECT_EQ(t.find("cls_attention")->sizes(), (std::vector<int64_t>{2, 2, 2, 16}));
    EXPECT_TRUE(torch::allclose(*t.find("logits"), *t.find("logits_vs"), 1e-4, 1e-5));  // tapped vs kernel path
#if DILUTE_WITH_OPENCV
    EXPECT_EQ(j.at("overlays").size(), 2u);
    EXPECT_TRUE(std::filesystem::file_size(tmp.file("overlays/000-heads.png")) > 100);
#endif
}
