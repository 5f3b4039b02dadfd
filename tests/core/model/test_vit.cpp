#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/cost.h"
#include "model/vit.h"
#include "util/error.h"

using namespace dilute;
using namespace dilute::model;

namespace {
ViTConfig tinyCfg() {
    ViTConfig c = preset("vit_nano_patch7_28");
    c.depth = 4;
    return c;
}
long long countParams(VisionTransformerImpl& m) {
    long long n = 0;
    for (const auto& p : m.parameters()) n += p.numel();
    return n;
}
}  // namespace

TEST(Model, DeitParameterCountsMatchTimm) {
    const std::pair<const char*, long long> expected[] = {
        {"deit_tiny_patch16_224", 5717416}, {"deit_small_patch16_224", 22050664}, {"deit_base_patch16_224", 86567656}};
    for (const auto& [name, n] : expected) {
        auto m = buildModel(preset(name));
        EXPECT_EQ(countParams(*m), n) << name;
        EXPECT_EQ(analyticCost(preset(name)).params, n) << name;
    }
}

TEST(Model, DeitGmacWithinTwoPercent) {
    const std::pair<const char*, double> expected[] = {
        {"deit_tiny_patch16_224", 1.26}, {"deit_small_patch16_224", 4.61}, {"deit_base_patch16_224", 17.58}};
    for (const auto& [name, g] : expected) EXPECT_NEAR(analyticCost(preset(name)).gmac(), g, 0.02 * g) << name;
}

TEST(Model, DeitBasePrunedCostMatchesSpecTable) {
    const std::vector<int> removed{0, 1, 3, 4, 6, 9};
    auto c = analyticCost(preset("deit_base_patch16_224"), removed);
    EXPECT_NEAR(c.params / 1e6, 72.38, 0.01);
    EXPECT_NEAR(c.gmac(), 14.43, 0.02 * 14.43);
    auto m = buildModel(preset("deit_base_patch16_224"), removed);
    EXPECT_EQ(countParams(*m), c.params);
    // Per removed block: 2.36M parameters, 0.525 GMAC (SPEC section 5).
    auto full = analyticCost(preset("deit_base_patch16_224"));
    EXPECT_NEAR((full.params - c.params) / 6.0 / 1e6, 2.36, 0.01);
    EXPECT_NEAR((full.macs - c.macs) / 6.0 / 1e9, 0.525, 0.005);
}

TEST(Model, StateDictKeysAreTimmKeys) {
    auto m = buildModel(tinyCfg());
    auto params = m->named_parameters();
    for (const char* k :
         {"cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.0.norm1.weight", "blocks.3.attn.qkv.weight",
          "blocks.2.attn.proj.bias", "blocks.1.mlp.fc2.weight", "norm.bias", "head.weight"})
        EXPECT_NE(params.find(k), nullptr) << k;
    EXPECT_EQ(params["blocks.0.attn.qkv.weight"].sizes(), torch::IntArrayRef({3 * 64, 64}));
}

TEST(Model, LambdaOneEqualsPlainBlock) {
    torch::manual_seed(1);
    auto m = buildModel(tinyCfg());
    m->initWeights(3);
    m->eval();
    auto x = torch::randn({2, 1, 28, 28});
    auto ref = m->forward(x);
    m->block(1)->setLambda(1.0);
    EXPECT_TRUE(torch::equal(m->forward(x), ref));
    m->block(1)->setLambda(0.5);
    EXPECT_FALSE(torch::allclose(m->forward(x), ref));
}

TEST(Model, LambdaZeroEqualsRemovedBlockWithDoubling) {
    auto m = buildModel(tinyCfg());
    m->initWeights(5);
    m->eval();
    auto x = torch::randn({3, 1, 28, 28});
    m->block(1)->setLambda(0.0);
    m->block(2)->setLambda(0.0);
    auto diluted = m->forward(x);
    m->removeAttention({1, 2}, /*fold=*/false);
    EXPECT_EQ(m->block(1)->mode(), BlockMode::Removed);
    EXPECT_FALSE(m->block(1)->hasAttention());
    auto removed = m->forward(x);
    EXPECT_TRUE(torch::allclose(diluted, removed, 1e-5, 1e-6));
}

TEST(Model, RemovedBlockHasNoAttentionParameters) {
    auto m = buildModel(tinyCfg(), {0, 2});
    auto params = m->named_parameters();
    EXPECT_EQ(params.find("blocks.0.attn.qkv.weight"), nullptr);
    EXPECT_EQ(params.find("blocks.0.norm1.weight"), nullptr);
    EXPECT_EQ(params.find("blocks.2.attn.proj.bias"), nullptr);
    EXPECT_NE(params.find("blocks.1.attn.qkv.weight"), nullptr);
    EXPECT_NE(params.find("blocks.0.mlp.fc1.weight"), nullptr);
    EXPECT_EQ(countParams(*m), analyticCost(tinyCfg(), {0, 2}).params);
}

TEST(Model, FoldedPrunedModelGivesSameLogits) {
    auto m = buildModel(tinyCfg());
    m->initWeights(7);
    m->eval();
    m->removeAttention({0, 2}, false);
    auto x = torch::randn({4, 1, 28, 28});
    auto unfolded = m->forward(x);
    m->fold();
    EXPECT_TRUE(m->folded());
    for (int i : {0, 2}) EXPECT_EQ(m->block(i)->residualScale(), 1.0);
    auto folded = m->forward(x);
    // Equal up to the final LayerNorm eps (1e-6), which does not scale with the folded activations.
    const float scale = unfolded.abs().max().item<float>();
    EXPECT_LT((unfolded - folded).abs().max().item<float>(), 2e-3 * scale);
    EXPECT_FALSE(torch::equal(unfolded, folded));
}

TEST(Model, TapsHandBackBranchOutputsWithoutSecondPass) {
    auto m = buildModel(tinyCfg(), {1});
    m->initWeights(1);
    m->eval();
    FeatureTaps taps;
    auto x = torch::randn({2, 1, 28, 28});
    auto logits = m->forward(x, &taps);
    ASSERT_EQ(taps.attn.size(), 4u);
    ASSERT_EQ(taps.mlp.size(), 4u);
    EXPECT_FALSE(taps.attn[1].defined());
    EXPECT_EQ(taps.attn[0].sizes(), torch::IntArrayRef({2, 17, 64}));
    EXPECT_EQ(taps.attn_heads[0].sizes(), torch::IntArrayRef({2, 17, 64}));
    // proj(attn_heads) == attn
    auto proj = m->block(0)->attn->proj->forward(taps.attn_heads[0]);
    EXPECT_TRUE(torch::allclose(proj, taps.attn[0]));
    EXPECT_TRUE(torch::allclose(m->classify(taps.feature), logits));
}

TEST(Model, SkipIsIdentityOnAttentionPath) {
    auto m = buildModel(tinyCfg());
    m->initWeights(2);
    m->eval();
    auto x = torch::randn({2, 1, 28, 28});
    std::vector<bool> skip(4, false);
    skip[2] = true;
    auto t = m->embed(x);
    auto before = m->runBlocks(t, 0, 2);
    auto a = m->runBlocks(before, 2, 4, &skip);
    auto mid = before + m->block(2)->mlp->forward(m->block(2)->norm2->forward(before));
    auto b = m->runBlocks(mid, 3, 4);
    EXPECT_TRUE(torch::allclose(a, b));
}

TEST(Model, RejectsWrongInputShape) {
    auto m = buildModel(tinyCfg());
    EXPECT_THROW(m->forward(torch::zeros({1, 3, 28, 28})), Error);
    EXPECT_THROW(preset("nope"), Error);
}
