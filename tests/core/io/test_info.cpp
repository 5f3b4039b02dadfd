// io/info.cpp: `dilute info` as a job: a model's description with its counted parameters and
// analytic cost per block, or the presets; and its JSON.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>

#include "core/test_util.h"
#include "io/info.h"
#include "model/vit.h"
#include "util/error.h"

using namespace dilute;
using dilute::testing::TempDir;

TEST(InfoJob, DescribesAModelWithItsCostPerBlock) {
    TempDir d("info");
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    m->initWeights(1);
    m->removeAttention({2}, true);
    io::saveModel(*m, d.file("m.safetensors"));
    io::InfoOptions o;
    o.model = d.file("m.safetensors");
    const auto r = io::runInfo(o);
    EXPECT_EQ(r.model, o.model);
    EXPECT_EQ(r.removed, std::vector<int>{2});
    EXPECT_TRUE(r.folded);
    ASSERT_EQ(r.modes.size(), 6u);
    EXPECT_EQ(r.modes[2], "removed");
    EXPECT_EQ(r.modes[0], "full");
    long long counted = 0;
    for (const auto& p : m->parameters()) counted += p.numel();
    EXPECT_EQ(r.params, counted);
    EXPECT_EQ(r.cost.blocks[2].attn_params, 0);
    EXPECT_GT(r.cost.blocks[1].attn_params, 0);
    const auto j = nlohmann::json::parse(io::infoToJson(r));
    EXPECT_EQ(j["removed_blocks"], nlohmann::json({2}));
    EXPECT_EQ(j["blocks"].size(), 6u);
    EXPECT_EQ(j["blocks"][2]["mode"], "removed");
    EXPECT_EQ(j["params"].get<long long>(), counted);
    EXPECT_EQ(j["family"], "plain");
}

TEST(InfoJob, ListsThePresetsWithoutAModel) {
    const auto r = io::runInfo({});
    EXPECT_TRUE(r.model.empty());
    EXPECT_EQ(r.presets, model::presetNames());
    const auto j = nlohmann::json::parse(io::infoToJson(r));
    ASSERT_EQ(j["presets"].size(), r.presets.size());
    EXPECT_EQ(j["presets"][0]["name"], r.presets[0]);
    EXPECT_GT(j["presets"][0]["params"].get<long long>(), 0);
    io::InfoOptions o;
    o.model = "/no/such/model";
    EXPECT_THROW(io::runInfo(o), Error);
    o.list = true;  // --list wins over a model
    EXPECT_FALSE(io::runInfo(o).presets.empty());
}
