#include "train/options.h"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "train/optiontable.h"
#include "util/error.h"
#include "util/json_num.h"

namespace dilute::train {
using json = nlohmann::json;

namespace {

// Not options but a run's state, written beside them (global_batch, recipe) or by the trainer
// into config.json (the rest); read by their own readers.
const std::vector<std::string>& runKeys() {
    static const std::vector<std::string> k{"global_batch",       "recipe",       "decay",
                                            "resolved_selection", "architecture", "created",
                                            "distributed",        "adapted",      "starting_weights"};
    return k;
}

}  // namespace

// Every option of the table (train/optiontable.h) but the two that only steer this invocation
// (overwrite, stop_at_step), plus the run's global batch and recipe.
std::string TrainOptions::toJson() const {
    auto j = json::parse(optionsJson(trainOptionTable(), *this));
    j.erase("overwrite");
    j.erase("stop_at_step");
    j["global_batch"] = global_batch;
    j["recipe"] = recipe;
    return j.dump(2);
}

TrainOptions TrainOptions::fromJson(const std::string& text, const std::string& source) {
    TrainOptions o;
    optionsFromJson(trainOptionTable(), text, o, source, runKeys());
    try {
        const auto j = json::parse(text);
        o.global_batch = jsonnum::value<int>(j, "global_batch", 0);
        o.recipe = jsonnum::value<std::string>(j, "recipe", "");
        if (j.contains("decay")) {  // config.json of runs from before the flat layout
            const auto& d = j["decay"];
            if (!d.is_object()) throw json::type_error::create(302, "decay must be an object", nullptr);
            o.schedule.shape = jsonnum::value<std::string>(d, "shape", o.schedule.shape);
            o.schedule.unit = jsonnum::value<std::string>(d, "unit", o.schedule.unit);
            o.schedule.start = jsonnum::value<double>(d, "start", o.schedule.start);
            o.schedule.end = jsonnum::value<double>(d, "end", o.schedule.end);
            o.schedule.per_step = jsonnum::value<bool>(d, "per_step", o.schedule.per_step);
        }
    } catch (const json::exception& e) {
        throw Error(source + ": " + jsonnum::message(e));
    }
    return o;
}

void TrainOptions::validate() const {
    // Ranges, not only signs: a config.json from elsewhere must not ask for a year of epochs,
    // a million-image batch or an infinite learning rate (each would hang or fail late).
    if (model.empty()) throw Error("training needs a model (preset or file)");
    validateOptions(trainOptionTable(), *this);  // every range and choice, from the one table
    // What the table cannot say: the recorded global batch (not an option) and rules across fields.
    if (global_batch < 0 || global_batch > (1 << 24)) throw Error("global batch must be in [0, 16777216]");
    if (warmup_epochs > epochs) {
        char w[32];
        std::snprintf(w, sizeof w, "%g", warmup_epochs);
        throw Error("--warmup " + std::string(w) + " is longer than the run (--epochs " + std::to_string(epochs) + ")");
    }
    schedule.validate();
    // The automatic end (3/4 of the run) must come after an explicit start, or lambda would
    // divide by a negative span.
    if (schedule.end < 0 && schedule.unit == "epochs" && schedule.start >= 0.75 * epochs)
        throw Error("--decay-start " + std::to_string(schedule.start) +
                    " epochs is not before the automatic end of the "
                    "decay (3/4 of " +
                    std::to_string(epochs) + " epochs): give --decay-end too");
}

}  // namespace dilute::train
