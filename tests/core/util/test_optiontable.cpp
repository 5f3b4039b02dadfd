// The option tables every job's CLI bindings and GUI form come from: well-formed, defaults inside
// their own ranges and choices, the text/JSON forms exact, lifted tables writing the right part.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

#include "analysis/optiontable.h"
#include "bench/options.h"
#include "bench/optiontable.h"
#include "core/test_util.h"
#include "eval/optiontable.h"
#include "experiment/optiontable.h"
#include "inspect/optiontable.h"
#include "io/info.h"
#include "io/optiontable.h"
#include "io/weights.h"
#include "model/preset.h"
#include "model/vit.h"
#include "train/job.h"
#include "train/optiontable.h"
#include "util/error.h"

using namespace dilute;

namespace {

template <class O>
void checkTable(const std::vector<OptionSpec<O>>& table, const char* job) {
    O defaults;
    std::set<std::string> names, flags;
    ASSERT_FALSE(table.empty()) << job;
    for (const auto& s : table) {
        SCOPED_TRACE(std::string(job) + " " + s.name);
        EXPECT_TRUE(names.insert(s.name).second) << "repeated name";
        for (size_t a = 0; a < s.flags.size();) {
            size_t b = s.flags.find(',', a);
            if (b == std::string::npos) b = s.flags.size();
            std::string f = s.flags.substr(a, b - a);
            if (!f.empty() && f[0] == '!') f.erase(0, 1);
            EXPECT_TRUE(flags.insert(f).second) << "repeated flag " << f;
            a = b + 1;
        }
        EXPECT_FALSE(s.help.empty());
        EXPECT_FALSE(s.label.empty());
        EXPECT_TRUE(s.cliOnly.empty() || s.cliOnly.size() > 15) << "a CLI-only option says why";
        EXPECT_LE(s.lo, s.hi);
        const auto f = s.field(defaults);
        std::visit(
            [&](auto* p) {
                using T = std::remove_pointer_t<decltype(p)>;
                if constexpr (std::is_same_v<T, std::string>) {
                    if (!s.choices.empty() && !p->empty())  // "" is "not given" (demo --compare)
                        EXPECT_NE(std::find(s.choices.begin(), s.choices.end(), *p), s.choices.end()) << *p;
                } else if constexpr (!std::is_same_v<T, bool>) {
                    EXPECT_TRUE(s.choices.empty());
                    if (s.lo != s.hi) {
                        EXPECT_GE(double(*p), s.lo);
                        EXPECT_LE(double(*p), s.hi);
                    }
                }
            },
            f);
    }
    // --print-config: one key per option, values typed.
    const auto j = nlohmann::json::parse(optionsJson(table, defaults));
    EXPECT_EQ(j.size(), table.size());
}

}  // namespace

TEST(OptionTables, EveryJobsTableIsWellFormed) {
    checkTable(train::trainOptionTable(), "train");
    checkTable(analysis::analysisOptionTable(), "analyze");
    checkTable(bench::benchOptionTable(), "bench");
    checkTable(bench::measureOptionTable(), "measure");
    checkTable(inspect::inspectOptionTable(), "inspect");
    checkTable(eval::evalOptionTable(), "eval");
    checkTable(experiment::studyOptionTable(), "study");
    checkTable(experiment::demoOptionTable(), "demo");
    checkTable(bench::benchJobOptionTable(), "bench job");
    checkTable(io::exportOptionTable(), "export");
    checkTable(io::infoOptionTable(), "info");
    checkTable(train::resumeOptionTable(), "resume");
}

// validateOptions: the one range and choice check of options set by code (a job's run function,
// the workbench), each named by the flag the user knows.
TEST(OptionTables, ValidationNamesTheFlagAndItsRangeOrChoices) {
    EXPECT_EQ(primaryFlag("input,--model,-m"), "--model");
    EXPECT_EQ(primaryFlag("!--no-fold"), "--no-fold");
    EXPECT_EQ(primaryFlag("--batch,-b"), "--batch");
    auto message = [](auto fn) {
        try {
            fn();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    experiment::StudyOptions s;
    s.model = "m.safetensors";
    EXPECT_EQ(message([&] { validateOptions(experiment::studyOptionTable(), s); }), "accepted");
    s.seeds = 2000;
    EXPECT_EQ(message([&] { validateOptions(experiment::studyOptionTable(), s); }),
              "--seeds 2000 is outside [0, 1000]");
    s = {};
    s.exhaustive = "maybe";
    EXPECT_EQ(message([&] { validateOptions(experiment::studyOptionTable(), s); }),
              "--exhaustive 'maybe': expected one of auto, on, off");
    inspect::InspectOptions i;
    i.img_size = 5000;  // a model option, lifted into the job's table
    EXPECT_EQ(message([&] { validateOptions(inspect::inspectOptionTable(), i); }),
              "--img-size 5000 is outside [0, 4096]");
    train::TrainOptions t;
    t.min_lr = std::nan("");
    EXPECT_EQ(message([&] { validateOptions(train::trainOptionTable(), t); }),
              "--min-lr nan: expected a finite number");
    EXPECT_EQ(message([&] { validateOptions(experiment::demoOptionTable(), experiment::DemoOptions{}); }), "accepted");
}

TEST(OptionTables, TextIsShortestRoundTripAndJsonIsTyped) {
    double d = 1e-5;
    EXPECT_EQ(fieldText(&d), "1e-05");
    d = 0.1;
    EXPECT_EQ(fieldText(&d), "0.1");
    d = 1.0 / 3;
    EXPECT_EQ(std::stod(fieldText(&d)), d);
    bool b = true;
    EXPECT_EQ(fieldText(&b), "true");
    uint64_t big = 18446744073709551615ull;
    EXPECT_EQ(fieldText(&big), "18446744073709551615");
    analysis::AnalysisOptions a;
    a.k = 4;
    a.selector = "random";
    a.pairwise = true;
    const auto j = nlohmann::json::parse(optionsJson(analysis::analysisOptionTable(), a));
    EXPECT_EQ(j["k"], 4);
    EXPECT_EQ(j["selector"], "random");
    EXPECT_EQ(j["pairwise"], true);
    EXPECT_EQ(j["calib"], 2048);
}

TEST(OptionTables, LiftedBenchOptionsWriteTheMeasureJobsBenchPart) {
    const auto& t = bench::measureOptionTable();
    const auto* batch = findOption(t, "batch");
    ASSERT_NE(batch, nullptr);
    EXPECT_EQ(findOption(t, "device")->flags, "--device");  // the job's own device, not the bench's
    bench::MeasureOptions m;
    *std::get<int*>(batch->field(m)) = 5;
    EXPECT_EQ(m.bench.batch, 5);
    *std::get<std::string*>(findOption(t, "device")->field(m)) = "cuda:1";
    EXPECT_EQ(m.device, "cuda:1");
    EXPECT_EQ(m.bench.device, "cpu");
    // The same defaults as `dilute bench`.
    bench::BenchOptions bo;
    const bench::MeasureOptions fresh;
    for (const auto& s : bench::benchOptionTable())
        if (s.name != "device") EXPECT_EQ(optionText(s, bo), optionText(*findOption(t, s.name), fresh)) << s.name;
}

TEST(OptionTables, RecipeFillsOnlyWhatWasNotGiven) {
    train::TrainOptions o;
    o.epochs = 3;
    train::applyRecipe(o, "deit_tiny_patch16_224", [](const train::OptionSpec& s) { return s.name == "epochs"; });
    EXPECT_EQ(o.epochs, 3);  // given: kept
    EXPECT_EQ(o.batch, 64);  // the DeiT recipe
    EXPECT_DOUBLE_EQ(o.lr, 5e-4 * 64 / 512);
    train::TrainOptions f;
    const auto before = f.toJson();
    train::applyRecipe(f, "/some/file.safetensors", [](const train::OptionSpec&) { return false; });
    EXPECT_EQ(f.toJson(), before);  // a file has no preset recipe
}

TEST(OptionTables, RecipeFollowsTheModeAndScalesLrWithTheGlobalBatch) {
    dilute::testing::TempDir d("recipe");
    // A preset trains from scratch: DeiT's recipe; a weights file is fine-tuned: the paper's.
    EXPECT_EQ(train::deriveRecipe("deit_small_patch16_224").name, "deit-scratch");
    auto deit = model::buildModel(model::preset("deit_tiny_patch16_224"));
    io::saveModel(*deit, d.file("deit.safetensors"));
    const auto ft = train::deriveRecipe(d.file("deit.safetensors"));
    EXPECT_EQ(ft.name, "deit-finetune");
    train::TrainOptions o;
    o.batch = 128;
    auto given = [](const std::string& name) { return [name](const train::OptionSpec& s) { return s.name == name; }; };
    train::applyRecipe(o, d.file("deit.safetensors"), given("batch"));
    EXPECT_DOUBLE_EQ(o.lr, 1.25e-4);  // the paper's 2e-3 at batch 2048, scaled to 128
    EXPECT_EQ(o.recipe, "deit-finetune");
    EXPECT_DOUBLE_EQ(o.mixup, 0.8);
    EXPECT_DOUBLE_EQ(o.warmup_epochs, 5);
    train::applyRecipe(o, d.file("deit.safetensors"), given("batch"), 4);  // 4 processes: global batch 512
    EXPECT_DOUBLE_EQ(o.lr, 5e-4);
    o.lr = 3e-4;
    train::applyRecipe(o, d.file("deit.safetensors"), given("lr"), 4);  // a given lr is kept
    EXPECT_DOUBLE_EQ(o.lr, 3e-4);
    // Small models: their own short recipes; a timm file without metadata takes --arch.
    auto nano = model::buildModel(model::preset("vit_nano_patch7_28"));
    io::saveModel(*nano, d.file("nano.safetensors"));
    EXPECT_EQ(train::deriveRecipe(d.file("nano.safetensors")).name, "small-finetune");
    EXPECT_EQ(train::deriveRecipe("vit_nano_patch7_28").name, "small-scratch");
    EXPECT_EQ(train::deriveRecipe(d.file("missing.safetensors")).name, "none");
}

// config.json and --config are read through the option table: every option round-trips, a wrong
// type or value names the key, what was expected and what was found (no JSON library ids), an
// unknown key is refused with the nearest name, and the nested "decay" of older runs still reads.
TEST(Options, TrainingConfigIsCheckedAgainstTheTable) {
    train::TrainOptions o;
    o.model = "vit_nano_patch7_28";
    o.img_size = 56;
    o.schedule.end = 2.5;
    o.train_limit = 123;
    const auto back = train::TrainOptions::fromJson(o.toJson(), "config.json");
    for (const auto& s : train::trainOptionTable())
        if (s.name != "overwrite" && s.name != "stop_at_step")
            EXPECT_EQ(train::optionText(s, back), train::optionText(s, o)) << s.name;
    auto fails = [](const std::string& text) {
        return dilute::testing::errorText([&] { train::TrainOptions::fromJson(text, "cfg.json"); });
    };
    EXPECT_EQ(fails(R"({"lr": "0.1"})"), "cfg.json: lr must be a number, not \"0.1\"");
    EXPECT_EQ(fails(R"({"epochs": 2.5})"), "cfg.json: epochs = 2.5 is not a whole number in range");
    EXPECT_EQ(fails(R"({"epochs": 0})"), "cfg.json: epochs = 0 is outside [1, 100000]");
    EXPECT_EQ(fails(R"({"amp": "fp8"})"), "cfg.json: amp = \"fp8\": expected one of auto, off, bf16, fp16");
    EXPECT_EQ(fails(R"({"per_step": 1})"), "cfg.json: per_step must be true or false, not 1");
    EXPECT_EQ(fails(R"({"lrr": 0.1})"), "cfg.json: unknown key 'lrr' (did you mean 'lr'?)");
    EXPECT_EQ(fails(R"({"zzzzzzzzzzzz": 1})"), "cfg.json: unknown key 'zzzzzzzzzzzz'");
    EXPECT_EQ(fails("[1, 2]"), "cfg.json: expected a JSON object of options, found array");
    const auto syntax = fails("{\"lr\": ");
    EXPECT_EQ(syntax.rfind("cfg.json: not valid JSON (", 0), 0u) << syntax;
    EXPECT_EQ(syntax.find("[json.exception"), std::string::npos) << syntax;  // no library ids
    const auto old = train::TrainOptions::fromJson(
        R"({"model": "m.safetensors", "decay": {"shape": "cosine", "unit": "steps", "start": 5, "end": 50, "per_step": false},
            "global_batch": 256, "resolved_selection": {"blocks": [1]}, "created": "2026-01-01"})");
    EXPECT_EQ(old.schedule.shape, "cosine");
    EXPECT_EQ(old.schedule.unit, "steps");
    EXPECT_DOUBLE_EQ(old.schedule.end, 50);
    EXPECT_FALSE(old.schedule.per_step);
    EXPECT_EQ(old.global_batch, 256);
}
