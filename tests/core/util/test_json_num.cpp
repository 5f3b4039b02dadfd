// util/json_num.h: numbers from outside JSON (config.json, architecture metadata, metrics lines)
// are refused when huge, fractional where whole numbers are due, or of another type, never cast.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/test_util.h"
#include "io/weights.h"
#include "model/preset.h"
#include "model/vit.h"
#include "train/metrics.h"
#include "train/options.h"

using namespace dilute;

namespace {
std::string errorOf(const std::function<void()>& f) { return dilute::testing::errorText(f); }
}  // namespace

TEST(JsonNum, HugeOrFractionalNumbersAreRefusedNotCast) {
    // nlohmann's get<int>() casts 1e62 to int (undefined behaviour, found by fuzz_json): every
    // reader of outside JSON goes through util/json_num.h instead.
    auto o = train::TrainOptions{};
    o.model = "vit_nano_patch7_28";
    auto j = nlohmann::json::parse(o.toJson());
    for (const char* key : {"epochs", "batch", "calib", "workers"}) {
        for (const nlohmann::json v : {nlohmann::json(1.2e62), nlohmann::json(2.5), nlohmann::json(-1e30)}) {
            auto k = j;
            k[key] = v;
            const auto e = errorOf([&] { train::TrainOptions::fromJson(k.dump()); });
            EXPECT_NE(e.find(std::string(key) + " = "), std::string::npos) << key << " " << v << ": " << e;
        }
    }
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    auto arch = nlohmann::json::parse(io::archToJson(m->config(), {}, false));
    arch["depth"] = 1e62;
    EXPECT_NE(errorOf([&] { io::archFromJson(arch.dump(), nullptr, nullptr); }).find("depth = "), std::string::npos);
    arch = nlohmann::json::parse(io::archToJson(m->config(), {}, false));
    arch["removed_blocks"] = {1, 3.5};
    std::vector<int> removed;
    EXPECT_NE(errorOf([&] { io::archFromJson(arch.dump(), &removed, nullptr); }).find("removed_blocks = 3.5"),
              std::string::npos);
    // Metrics lines from a damaged file are skipped as bad lines, not cast.
    EXPECT_EQ(train::parseMetricsLine(R"({"event":"step","step":1e300,"epoch":0})").kind,
              train::MetricsEvent::Kind::Bad);
}
