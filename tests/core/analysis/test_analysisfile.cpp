// analysis.json (analysis/analysisfile.cpp): written and read back whole; being our own file, a
// key we do not write is refused with the nearest name, at the top and inside the selection.
#include <gtest/gtest.h>

#include <fstream>

#include "analysis/job.h"
#include "core/test_util.h"
#include "util/files.h"

using namespace dilute;
using dilute::testing::errorText;
using dilute::testing::TempDir;

namespace {
analysis::AnalysisResult small() {
    analysis::AnalysisResult r;
    r.model = "m.safetensors";
    r.data = "fashion-mnist";
    r.split = "train";
    r.calib = 64;
    r.profile.depth = 2;
    r.profile.heads = 1;
    r.profile.attn = {1.5, 2.5};
    r.profile.head = {{1.0}, {2.0}};
    r.profile.mlp = {3.0, 4.0};
    r.t_single = {0.25, 0.5};
    r.selection.selector = "nose";
    r.selection.blocks = {1};
    r.selection.trace.push_back({{0, 1}, {0.3, 0.2}, 1, 0.2});
    return r;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
}
}  // namespace

TEST(AnalysisFile, WrittenAndReadBack) {
    TempDir d("analysisfile");
    analysis::writeAnalysis(d.path(), small());
    const auto back = analysis::readAnalysis(d.path());
    EXPECT_EQ(back.selection.blocks, std::vector<int>{1});
    EXPECT_EQ(back.profile.mlp, (std::vector<double>{3.0, 4.0}));
    ASSERT_EQ(back.selection.trace.size(), 1u);
    EXPECT_EQ(back.selection.trace[0].chosen, 1);
}

TEST(AnalysisFile, AKeyWeDoNotWriteIsRefusedWithTheNearestName) {
    TempDir d("analysisfile-keys");
    analysis::writeAnalysis(d.path(), small());
    const std::string text = fs::readText(d.file("analysis.json"));
    auto expectRefused = [&](const std::string& bad, const std::string& want) {
        fs::atomicWriteText(d.file("bad.json"), bad);
        const auto e = errorText([&] { analysis::readAnalysis(d.file("bad.json")); });
        EXPECT_NE(e.find("bad.json"), std::string::npos) << e;
        EXPECT_NE(e.find(want), std::string::npos) << e;
    };
    expectRefused(replaced(text, "\"mlp_entropy\"", "\"mlp_entropie\""),
                  "unknown key 'mlp_entropie' (did you mean 'mlp_entropy'?)");
    expectRefused(replaced(text, "\"selector\"", "\"selectr\""),
                  "selection: unknown key 'selectr' (did you mean 'selector'?)");
    expectRefused(replaced(text, "\"t_chosen\"", "\"zzz\""), "selection.trace: unknown key 'zzz'");
}
