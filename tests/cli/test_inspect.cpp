// `dilute inspect` end to end (issue 30): the files it writes, what it prints, what it refuses.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "run_cli.h"

namespace {

dilute::testing::CliOut run(const std::string& args) { return dilute::testing::runCli(args); }
std::string golden(const std::string& f) { return std::string(DILUTE_SOURCE_DIR) + "/tests/data/golden/" + f; }
std::string scratch(const std::string& tag) {
    const auto d =
        (std::filesystem::temp_directory_path() / ("dilute-inspect-" + tag + "-" + std::to_string(::getpid())))
            .string();
    std::filesystem::remove_all(d);
    return d;
}

}  // namespace

TEST(InspectCli, InputTensorGivesMapsTablesAndOverlays) {
    const auto d = scratch("tensor");
    auto r = run("inspect -m " + golden("avg_ddp.pth") + " --heads 2 --input-tensor " + golden("input.safetensors") +
                 " --overlays 1 -o " + d);
    ASSERT_EQ(r.rc, 0) << r.text;
    EXPECT_NE(r.text.find("mean attention distance (input pixels; patch 8, grid 4x4)"), std::string::npos) << r.text;
    const auto j = nlohmann::json::parse(std::ifstream(d + "/inspect.json"));
    EXPECT_EQ(j["class_token"], false);  // global average pooling: no class-token maps, said so
    EXPECT_TRUE(j["omitted"].contains("cls_attention"));
    EXPECT_FALSE(j["tensors"].contains("cls_attention"));
    EXPECT_EQ(j["tensors"]["rollout"], nlohmann::json::array({2, 16}));
    EXPECT_EQ(j["images"][1]["source"], golden("input.safetensors") + " [1]");
    EXPECT_TRUE(j["images"][1]["label"].is_null());
    EXPECT_TRUE(std::filesystem::exists(d + "/inspect.safetensors"));
#if DILUTE_WITH_OPENCV
    EXPECT_TRUE(std::filesystem::exists(d + "/overlays/000-rollout.png"));
#endif
    std::filesystem::remove_all(d);
}

TEST(InspectCli, DatasetImagesComparedWithASecondModel) {
    if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist"))
        GTEST_SKIP() << "dataset-fashion-mnist not installed";
    const auto d = scratch("data");
    auto r = run("inspect -m vit_nano_patch7_28 --vs vit_nano_patch7_28 -n 20 --seed 3 -o " + d);
    ASSERT_EQ(r.rc, 0) << r.text;
    EXPECT_NE(r.text.find("compared with vit_nano_patch7_28 on 20 images"), std::string::npos) << r.text;
    const auto j = nlohmann::json::parse(std::ifstream(d + "/inspect.json"));
    ASSERT_EQ(j["images"].size(), 20u);
    EXPECT_EQ(j["comparison"]["right_to_wrong"].size(), 0u);  // a model against itself flips nothing
    EXPECT_TRUE(j["images"][0]["label_name"].is_string());    // the dataset's class names
    EXPECT_EQ(j["tensors"]["cls_attention"], nlohmann::json::array({20, 6, 4, 16}));
#if DILUTE_WITH_OPENCV
    EXPECT_EQ(j["overlays"].size(), 16u);  // 8 images, rollout and heads each
#endif
    std::filesystem::remove_all(d);
}

TEST(InspectCli, RefusesWhatItCannotDoInOneLine) {
    auto both = run("inspect -m vit_nano_patch7_28 -d fashion-mnist --input-tensor " + golden("input.safetensors"));
    EXPECT_EQ(both.rc, 1);
    EXPECT_NE(both.text.find("--input-tensor and --data"), std::string::npos) << both.text;
    auto shape = run("inspect -m vit_nano_patch7_28 --input-tensor " + golden("input.safetensors"));
    EXPECT_EQ(shape.rc, 1);
    EXPECT_NE(shape.text.find("input tensor has shape [2,3,32,32]; the model takes [B,1,28,28]"), std::string::npos)
        << shape.text;
    auto missing = run("inspect -m /nonexistent/model.pth");
    EXPECT_EQ(missing.rc, 1);
    EXPECT_NE(missing.text.find("/nonexistent/model.pth"), std::string::npos) << missing.text;
    auto huge = run("inspect -m vit_nano_patch7_28 -n 100000000");
    EXPECT_EQ(huge.rc, 1);
    EXPECT_NE(huge.text.find("lower --images"), std::string::npos) << huge.text;
}
