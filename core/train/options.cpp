#include "train/options.h"

#include <cmath>

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
    auto finite = [](double v) { return std::isfinite(v); };
    if (model.empty()) throw Error("training needs a model (preset or file)");
    io::validateModelRef(*this);
    if (epochs <= 0 || epochs > 100000) throw Error("epochs " + std::to_string(epochs) + " must be in [1, 100000]");
    if (batch <= 0 || batch > 65536) throw Error("batch size " + std::to_string(batch) + " must be in [1, 65536]");
    if (global_batch < 0 || global_batch > (1 << 24)) throw Error("global batch must be in [0, 16777216]");
    if (dist_timeout < 1 || dist_timeout > 86400) throw Error("--dist-timeout must be in [1, 86400] seconds");
    if (!(lr > 0) || !finite(lr) || lr > 10) throw Error("learning rate must be in (0, 10]");
    if (!(min_lr >= 0) || !finite(min_lr) || min_lr > 10) throw Error("minimum learning rate must be in [0, 10]");
    if (!(weight_decay >= 0) || !finite(weight_decay) || weight_decay > 10)
        throw Error("weight decay must be in [0, 10]");
    if (!(warmup_epochs >= 0) || warmup_epochs > epochs)
        throw Error("warm-up epochs must be in [0, epochs] (" + std::to_string(epochs) + ")");
    if (!(label_smoothing >= 0) || label_smoothing >= 1) throw Error("label smoothing must be in [0, 1)");
    if (!(drop_path >= 0) || drop_path >= 1) throw Error("drop-path rate must be in [0, 1)");
    if (!(mixup >= 0) || !(cutmix >= 0) || !finite(mixup) || !finite(cutmix) || mixup > 100 || cutmix > 100)
        throw Error("mixup / cutmix alpha must be in [0, 100]");
    if (!(clip_grad >= 0) || !finite(clip_grad)) throw Error("gradient clipping norm must be >= 0 and finite");
    if (workers < 0 || workers > 256) throw Error("workers must be in [0, 256]");
    if (calib <= 0 || calib > 10000000) throw Error("calibration images must be in [1, 10000000]");
    if (amp != "auto" && amp != "off" && amp != "bf16" && amp != "fp16")
        throw Error("amp '" + amp + "': expected auto, off, bf16 or fp16");
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
