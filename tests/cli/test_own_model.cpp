// The user's own model end to end (issue 25): a torch.save file of another resolution and class
// count (tests/data/golden, made by tests/reference/make_vit_golden.py) moved onto Fashion-MNIST
// with --img-size and a new head, through info, analyze, train and eval.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "run_cli.h"

namespace {

dilute::testing::CliOut run(const std::string& args) { return dilute::testing::runCli(args); }
std::string golden(const std::string& f) { return std::string(DILUTE_SOURCE_DIR) + "/tests/data/golden/" + f; }
nlohmann::json jsonOf(const std::string& text) { return nlohmann::json::parse(text.substr(text.find('{'))); }

}  // namespace

TEST(OwnModel, InfoReportsTheResolutionChange) {
    auto r = run("info -m " + golden("plain.pth") + " --heads 2 --img-size 48 --json");
    ASSERT_EQ(r.rc, 0) << r.text;
    const auto j = jsonOf(r.text);
    EXPECT_EQ(j["img_size"], 48);
    EXPECT_EQ(j["format"], "pytorch zip");
    ASSERT_EQ(j["adapted"].size(), 2u) << r.text;
    EXPECT_NE(j["adapted"][0].get<std::string>().find("4x4 to a 6x6 grid"), std::string::npos) << r.text;
    auto bad = run("info -m " + golden("plain.pth") + " --heads 2 --img-size 30");
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.text.find("--img-size 30 is not a multiple of the patch size 8"), std::string::npos) << bad.text;
}

TEST(OwnModel, FineTunedOnOtherDataWithANewHead) {
    if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist"))
        GTEST_SKIP() << "dataset-fashion-mnist not installed";
    const auto d = (std::filesystem::temp_directory_path() / ("dilute-own-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(d);
    const std::string src = golden("plain.pth") + " --heads 2 --img-size 48";
    // Accuracy needs the model's own head: eval refuses the 5-class model on 10-class data.
    auto ev = run("eval -m " + src + " -d fashion-mnist --limit 16");
    EXPECT_NE(ev.rc, 0);
    EXPECT_NE(ev.text.find("classifies 5 classes but"), std::string::npos) << ev.text;
    EXPECT_NE(ev.text.find("has 10"), std::string::npos) << ev.text;
    // Analysis works on the features: T(S) and NOSE on the imported model at 48 px.
    auto an = run("analyze -m " + src + " -d fashion-mnist --calib 64 --k 1 -o " + d + "/an");
    ASSERT_EQ(an.rc, 0) << an.text;
    // Training gives it a new head, says so and records it; grey images feed its 3 channels.
    auto tr = run("train -m " + src +
                  " -d fashion-mnist --select nose:1 --calib 64 --epochs 1 --train-limit 256 "
                  "--test-limit 128 --batch 32 -o " +
                  d + "/ft");
    ASSERT_EQ(tr.rc, 0) << tr.text;
    EXPECT_NE(tr.text.find("head replaced: 5 -> 10 classes"), std::string::npos) << tr.text;
    const auto cfg = nlohmann::json::parse(std::ifstream(d + "/ft/config.json"));
    EXPECT_EQ(cfg["img_size"], 48);
    EXPECT_EQ(cfg["recipe"], "small-finetune");  // an imported model is fine-tuned (48 px: the small recipe)
    EXPECT_EQ(cfg["architecture"]["num_classes"], 10);
    EXPECT_EQ(cfg["architecture"]["img_size"], 48);
    ASSERT_GE(cfg["adapted"].size(), 2u);
    EXPECT_NE(cfg["adapted"].back().get<std::string>().find("head replaced"), std::string::npos);
    // The fine-tuned model is a 10-class, 48-px model of its own: eval takes it as it is.
    auto ok = run("eval -m " + d + "/ft --limit 128 --json");
    ASSERT_EQ(ok.rc, 0) << ok.text;
    EXPECT_EQ(jsonOf(ok.text)["images"], 128);
    std::filesystem::remove_all(d);
}
