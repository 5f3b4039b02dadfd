// io/exportjob.cpp: the export job (`dilute export`) around exportPruned: its checks before any
// file is written, the cost it reports, its JSON, the --remove what-if.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "core/test_util.h"
#include "io/exportjob.h"
#include "io/weights.h"
#include "model/cost.h"
#include "util/error.h"

using namespace dilute;
using dilute::testing::TempDir;

namespace {

// Blocks 1 and 3 diluted to lambda 0.
std::string dilutedNano(const TempDir& d) {
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    m->initWeights(5);
    m->block(1)->setLambda(0.0);
    m->block(3)->setLambda(0.0);
    const auto path = d.file("diluted.safetensors");
    io::saveModel(*m, path);
    return path;
}

std::string errorOf(const io::ExportOptions& o) {
    try {
        io::runExport(o);
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST(ExportJob, ReportsTheCostBeforeAndAfterAndWritesItAsJson) {
    TempDir d("exportjob");
    io::ExportOptions o;
    o.model = dilutedNano(d);
    o.out = d.file("pruned.safetensors");
    std::vector<std::string> phases;
    io::ExportObserver obs;
    obs.progress = [&](const Progress& p) { phases.push_back(p.phase); };
    const auto r = io::runExport(o, obs);
    EXPECT_EQ(phases, (std::vector<std::string>{"export", "export"}));
    EXPECT_EQ(r.pruned_blocks, (std::vector<int>{1, 3}));
    const auto cfg = model::preset("vit_nano_patch7_28");
    const auto full = model::analyticCost(cfg), pruned = model::analyticCost(cfg, {1, 3});
    EXPECT_EQ(r.params_full, full.params);
    EXPECT_EQ(r.params_pruned, pruned.params);
    EXPECT_LT(r.params_pruned, r.params_full);
    EXPECT_DOUBLE_EQ(r.gmac_pruned, pruned.gmac());
    EXPECT_EQ(r.options.out, o.out);
    const auto j = nlohmann::json::parse(io::exportToJson(r));
    EXPECT_EQ(j["out"], o.out);
    EXPECT_EQ(j["removed_blocks"], nlohmann::json({1, 3}));
    EXPECT_EQ(j["params"]["pruned"].get<long long>(), pruned.params);
    EXPECT_TRUE(j["folded"].get<bool>());
    EXPECT_FALSE(j.contains("torchscript"));
    EXPECT_EQ(io::exportJob().name, std::string("export"));
}

TEST(ExportJob, RefusesBeforeWritingAnything) {
    TempDir d("exportjob-refuse");
    io::ExportOptions o;
    o.out = d.file("pruned.safetensors");
    EXPECT_NE(errorOf(o).find("export needs a model"), std::string::npos) << errorOf(o);
    o.model = dilutedNano(d);
    o.onnx_opset = 15;
    EXPECT_NE(errorOf(o).find("--onnx-opset 15: expected 17 or 13"), std::string::npos) << errorOf(o);
    EXPECT_FALSE(std::filesystem::exists(o.out));
    o.onnx_opset = 17;
    o.remove = "0";
    EXPECT_NE(errorOf(o).find("--remove is a what-if"), std::string::npos) << errorOf(o);
    EXPECT_FALSE(std::filesystem::exists(o.out));
}

TEST(ExportJob, RemoveIsAWhatIfOnTheTimmFolderAlone) {
    TempDir d("exportjob-remove");
    io::ExportOptions o;
    o.model = dilutedNano(d);
    o.timm = d.file("timm");
    o.remove = "0,2";
    const auto r = io::runExport(o);
    EXPECT_EQ(r.removed, (std::vector<int>{0, 1, 2, 3}));  // at lambda 0, and the what-if
    EXPECT_TRUE(std::filesystem::exists(d.file("timm/model.safetensors")));
    const auto j = nlohmann::json::parse(io::exportToJson(r));
    EXPECT_FALSE(j.contains("out"));
    EXPECT_EQ(j["timm"], o.timm);
    io::ExportOptions bad = o;
    bad.timm = d.file("timm2");
    bad.remove = "0,9";
    EXPECT_NE(errorOf(bad).find("block list '0,9': block 9 out of range [0, 6)"), std::string::npos) << errorOf(bad);
}
