// Models from elsewhere (issue 25): every source format and key layout against logits PyTorch
// computed (tests/reference/make_vit_golden.py), the family's presets against timm's parameter
// counts, and the hostile torch files refused with nothing run.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/test_models.h"
#include "core/test_util.h"
#include "io/export.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "model/kernels.h"
#include "util/error.h"

using namespace dilute;
using dilute::testing::errorText;

namespace {
std::string golden(const std::string& f) { return std::string(DILUTE_SOURCE_DIR) + "/tests/data/golden/" + f; }

// Our golden models are 32 wide with 2 heads: no standard width, so files without a config say it.
model::VisionTransformer open(const std::string& f, io::ModelOrigin* origin = nullptr) {
    io::OpenOptions o;
    o.heads = 2;
    return io::openModel(golden(f), o, nullptr, nullptr, origin);
}

}  // namespace

TEST(Sources, EveryFormatAndLayoutGivesPyTorchsLogits) {
    const auto cases = nlohmann::json::parse(std::ifstream(golden("cases.json")));
    const auto x = *io::readSafetensors(golden("input.safetensors")).find("input");
    const auto expected = io::readSafetensors(golden("logits.safetensors"));
    ASSERT_GE(cases.size(), 8u);
    for (auto it = cases.begin(); it != cases.end(); ++it) {
        SCOPED_TRACE(it.key());
        io::OpenOptions o;
        o.heads = it->value("heads", 0);
        io::ModelOrigin origin;
        auto m = io::openModel(golden(it->at("file").get<std::string>()), o, nullptr, nullptr, &origin);
        EXPECT_EQ(origin.format, it->at("format").get<std::string>());
        EXPECT_EQ(origin.layout, it->at("layout").get<std::string>());
        m->eval();
        torch::NoGradGuard ng;
        const auto got = m->forward(x);
        const auto* want = expected.find(it.key());
        ASSERT_NE(want, nullptr);
        ASSERT_EQ(got.sizes(), want->sizes());
        EXPECT_TRUE(torch::allclose(got, *want, 1e-4, 1e-5)) << (got - *want).abs().max().item<float>();
    }
}

TEST(Sources, ArchitectureAndMappingAreReported) {
    io::ModelOrigin origin;
    auto hub = open("distilled_hub", &origin);
    EXPECT_TRUE(hub->config().distilled);
    EXPECT_EQ(hub->config().num_heads, 2);
    EXPECT_EQ(hub->config().class_names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
    auto legacy = open("deit3_legacy.pth", &origin);
    EXPECT_TRUE(legacy->config().no_embed_class);
    EXPECT_TRUE(legacy->config().layerScale());
    std::string all;
    for (const auto& l : origin.mapping) all += l + "\n";
    EXPECT_NE(all.find("'model'"), std::string::npos) << all;
    EXPECT_NE(all.find("optimizer"), std::string::npos) << all;
    EXPECT_NE(all.find("gamma_1"), std::string::npos) << all;
    auto hf = open("hf_vit", &origin);
    EXPECT_DOUBLE_EQ(hf->config().norm_eps, 1e-12);
    EXPECT_EQ(hf->config().class_names.size(), 5u);
    all.clear();
    for (const auto& l : origin.mapping) all += l + "\n";
    EXPECT_NE(all.find("fused query/key/value into qkv in 2 blocks"), std::string::npos) << all;
    auto avg = open("avg_ddp.pth");
    EXPECT_FALSE(avg->config().class_token);
    EXPECT_EQ(avg->config().global_pool, "avg");
    EXPECT_TRUE(avg->config().fc_norm && avg->config().qk_norm && avg->config().pre_norm && !avg->config().qkv_bias);
}

TEST(Sources, TheHeadCountComesFromAnOptionWhenNothingTellsIt) {
    const auto e = errorText([] { io::openModel(golden("torchvision.pth")); });
    EXPECT_NE(e.find("--heads"), std::string::npos) << e;
    EXPECT_NE(e.find("torchvision.pth"), std::string::npos) << e;
}

TEST(Sources, HostileTorchFilesAreRefusedAndNothingRuns) {
    std::filesystem::remove("/tmp/dilute-golden-pwned");
    auto e = errorText([] { io::openModel(golden("evil.pth")); });
    EXPECT_NE(e.find("system"), std::string::npos) << e;
    EXPECT_NE(e.find("evil.pth"), std::string::npos) << e;
    EXPECT_FALSE(std::filesystem::exists("/tmp/dilute-golden-pwned"));
    e = errorText([] { io::openModel(golden("truncated.pth")); });
    EXPECT_NE(e.find("truncated.pth"), std::string::npos) << e;
    e = errorText([] { io::openModel(golden("noweights.pth")); });
    EXPECT_NE(e.find("no weights"), std::string::npos) << e;
    EXPECT_NE(e.find("--weights-key"), std::string::npos) << e;
    e = errorText([] {
        io::OpenOptions o;
        o.weights_key = "nothere";
        o.heads = 2;
        io::openModel(golden("deit3_legacy.pth"), o);
    });
    EXPECT_NE(e.find("nothere"), std::string::npos) << e;
    EXPECT_NE(e.find("optimizer"), std::string::npos) << e;
}

TEST(Sources, FamilyPresetsHaveTimmsParameterCounts) {
    const std::vector<std::pair<const char*, long long>> want{
        {"deit_tiny_distilled_patch16_224", 5910800},  {"deit_small_distilled_patch16_224", 22436432},
        {"deit_base_distilled_patch16_224", 87338192}, {"deit3_small_patch16_224", 22059496},
        {"deit3_base_patch16_224", 86585320},          {"vit_tiny_patch16_224", 5717416},
        {"vit_small_patch16_224", 22050664},           {"vit_base_patch16_224", 86567656},
        {"vit_small_patch14_dinov2", 22056192},        {"vit_small_patch14_reg4_dinov2", 22057344}};
    for (const auto& [name, count] : want) {
        auto m = model::buildModel(model::preset(name));
        long long n = 0;
        for (const auto& p : m->parameters()) n += p.numel();
        EXPECT_EQ(n, count) << name;
    }
}

TEST(Sources, FamilyMembersRoundTripThroughOurSafetensors) {
    dilute::testing::TempDir d("family");
    const auto x = *io::readSafetensors(golden("input.safetensors")).find("input");
    for (const char* f : {"deit3_legacy.pth", "distilled_hub", "reg_ema.pth", "avg_ddp.pth"}) {
        SCOPED_TRACE(f);
        auto m = open(f);
        m->eval();
        io::saveModel(*m, d.file("m.safetensors"));
        auto back = io::openModel(d.file("m.safetensors"));
        back->eval();
        torch::NoGradGuard ng;
        EXPECT_TRUE(torch::equal(m->forward(x), back->forward(x)));
        EXPECT_EQ(back->config().familyFlags(), m->config().familyFlags());
    }
}

TEST(Sources, RemovalFoldingAndTheKernelsHoldForEveryMember) {
    const auto x = *io::readSafetensors(golden("input.safetensors")).find("input");
    const int threads = at::get_num_threads();
    at::set_num_threads(2);  // the whole-block kernel needs two threads
    for (const char* f : {"plain.pth", "deit3_legacy.pth", "distilled_hub", "reg_ema.pth", "avg_ddp.pth"}) {
        SCOPED_TRACE(f);
        torch::NoGradGuard ng;
        auto m = open(f);
        m->eval();
        model::kernels::setEnabled(false);
        const auto ref = m->forward(x);
        model::kernels::setEnabled(true);
        EXPECT_TRUE(torch::allclose(m->forward(x), ref, 1e-4, 1e-5)) << "kernels vs modules";
        auto unfolded = open(f), folded = open(f);
        unfolded->eval();
        folded->eval();
        unfolded->removeAttention({0}, /*fold=*/false);
        folded->removeAttention({0}, /*fold=*/true);
        const auto a = unfolded->forward(x), b = folded->forward(x);
        // LN(2x) = LN(x) up to eps: these tiny random models' tokens have a std of a few hundredths,
        // so eps 1e-6 moves the folded logits by up to ~3e-3 (measured); a wrong fold moves them by O(1).
        EXPECT_TRUE(torch::allclose(a, b, 1e-2, 1e-2)) << (a - b).abs().max().item<float>();
        EXPECT_FALSE(torch::allclose(a, ref, 1e-3, 1e-3));  // removing attention changes the output
    }
    at::set_num_threads(threads);
}

// The TorchScript export runs every member in plain LibTorch: the module's logits are ours, for
// the model as read and with a block's attention removed (folded), as `dilute export` writes it.
TEST(Sources, TorchScriptRunsEveryMember) {
    dilute::testing::TempDir d("ts");
    const auto x = *io::readSafetensors(golden("input.safetensors")).find("input");
    for (const char* f : {"plain.pth", "deit3_legacy.pth", "distilled_hub", "reg_ema.pth", "avg_ddp.pth", "hf_deit",
                          "torchvision.pth"}) {
        for (bool removed : {false, true}) {
            SCOPED_TRACE(std::string(f) + (removed ? " minus block 1" : ""));
            torch::NoGradGuard ng;
            auto m = open(f);
            m->eval();
            if (removed) m->removeAttention({1}, /*fold=*/true);
            io::saveTorchScript(*m, d.file("m.pt"));
            auto ts = torch::jit::load(d.file("m.pt"));
            const auto got = ts.forward({x}).toTensor(), want = m->forward(x);
            ASSERT_EQ(got.sizes(), want.sizes());
            EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-5)) << (got - want).abs().max().item<float>();
        }
    }
}
