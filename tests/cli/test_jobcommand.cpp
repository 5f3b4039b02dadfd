// The CLI's generic job adapter (app/cli/jobcommand.h) as a user meets it: every job's options
// printed from its table (--print-config) and read back from a file (--config), the command line
// overriding the file, and a file the table does not allow refused by name.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "run_cli.h"

namespace {

dilute::testing::CliOut run(const std::string& args) { return dilute::testing::runCli(args); }

std::string tmpDir(const std::string& tag) {
    auto d = std::filesystem::temp_directory_path() / ("dilute-cli-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(d);
    return d.string();
}

}  // namespace

// Every job's options come from its one table (util/optiontable.h): --print-config prints each of
// them, and the table's ranges are the command line's.
TEST(JobCommand, EveryJobPrintsItsConfigFromItsTable) {
    const std::vector<std::pair<std::string, std::vector<std::string>>> jobs{
        {"eval", {"model", "split", "limit"}},       {"analyze", {"model", "selector", "out_dir"}},
        {"inspect", {"model", "images", "out_dir"}}, {"measure", {"run", "out_dir", "eval_images"}},
        {"study", {"model", "seeds", "out_dir"}},    {"demo", {"out_dir", "quick", "base_epochs", "reuse_baseline"}},
        {"train", {"model", "epochs", "out_dir"}},
    };
    for (const auto& [job, keys] : jobs) {
        const auto r = run(job + " --print-config");
        ASSERT_EQ(r.rc, 0) << job << "\n" << r.text;
        const auto j = nlohmann::json::parse(r.text, nullptr, false);
        ASSERT_TRUE(j.is_object()) << job << "\n" << r.text;
        for (const auto& k : keys) EXPECT_TRUE(j.contains(k)) << job << " lacks " << k;
    }
    EXPECT_EQ(nlohmann::json::parse(run("demo --print-config").text)["reuse_baseline"], true);
    EXPECT_EQ(nlohmann::json::parse(run("demo --retrain --quick --print-config").text)["reuse_baseline"], false);
    const auto bad = run("demo --base-epochs 0 --print-config");
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.text.find("--base-epochs"), std::string::npos) << bad.text;
    const auto choice = run("demo --compare lowest --print-config");
    EXPECT_NE(choice.rc, 0);
    EXPECT_NE(choice.text.find("random"), std::string::npos) << choice.text;
}

// --config FILE reads what --print-config wrote, for every job of the generic adapter; the
// command line overrides the file; a key or value the table does not allow names the file.
TEST(JobCommand, EveryJobReadsItsPrintedConfigBack) {
    const auto d = tmpDir("config");
    std::filesystem::create_directories(d);
    auto write = [&](const std::string& name, const std::string& text) {
        std::ofstream(d + "/" + name) << text;
        return d + "/" + name;
    };
    for (const std::string job : {"eval", "analyze", "inspect", "export", "bench", "measure", "study", "info"}) {
        SCOPED_TRACE(job);
        const auto printed = run(job + " --print-config");
        ASSERT_EQ(printed.rc, 0) << printed.text;
        const auto file = write(job + ".json", printed.text);
        const auto again = run(job + " --config " + file + " --print-config");
        ASSERT_EQ(again.rc, 0) << again.text;
        EXPECT_EQ(nlohmann::json::parse(again.text), nlohmann::json::parse(printed.text));
    }
    const auto f = write("a.json", run("analyze --k 3 --calib 64 --selector lowest --print-config").text);
    auto j = nlohmann::json::parse(run("analyze --config " + f + " --print-config").text);
    EXPECT_EQ(j["k"], 3);
    EXPECT_EQ(j["selector"], "lowest");
    j = nlohmann::json::parse(run("analyze --config " + f + " --k 2 --print-config").text);
    EXPECT_EQ(j["k"], 2);  // the command line overrides
    EXPECT_EQ(j["calib"], 64);
    const auto typo = run("analyze --config " + write("typo.json", R"({"selectr": "nose"})") + " --print-config");
    EXPECT_EQ(typo.rc, 1);
    EXPECT_NE(typo.text.find("typo.json: unknown key 'selectr' (did you mean 'selector'?)"), std::string::npos)
        << typo.text;
    const auto range = run("study --config " + write("range.json", R"({"seeds": 5000})") + " --print-config");
    EXPECT_EQ(range.rc, 1);
    EXPECT_NE(range.text.find("range.json: seeds = 5000 is outside [0, 1000]"), std::string::npos) << range.text;
    const auto missing = run("eval --config " + d + "/none.json --print-config");
    EXPECT_EQ(missing.rc, 1);
    EXPECT_NE(missing.text.find("none.json: cannot open"), std::string::npos) << missing.text;
    EXPECT_EQ(run("analyze --config " + d + "/typo.json --help").rc, 0);  // a bad file does not stop --help
    std::filesystem::remove_all(d);
}
