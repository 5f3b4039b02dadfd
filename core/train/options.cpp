#include "train/options.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "util/json_num.h"
#include "util/error.h"

namespace dilute::train {
using json = nlohmann::json;

std::string TrainOptions::toJson() const {
    json j = {{"model", model},
              {"arch", arch},
              {"weights_key", weights_key},
              {"heads", heads},
              {"img_size", img_size},
              {"data", data},
              {"out_dir", out_dir},
              {"epochs", epochs},
              {"batch", batch},
              {"global_batch", global_batch},
              {"dist_timeout", dist_timeout},
              {"lr", lr},
              {"min_lr", min_lr},
              {"weight_decay", weight_decay},
              {"warmup_epochs", warmup_epochs},
              {"label_smoothing", label_smoothing},
              {"mixup", mixup},
              {"cutmix", cutmix},
              {"drop_path", drop_path},
              {"clip_grad", clip_grad},
              {"augment", augment},
              {"recipe", recipe},
              {"seed", seed},
              {"device", device},
              {"amp", amp},
              {"workers", workers},
              {"train_limit", train_limit},
              {"test_limit", test_limit},
              {"select", select},
              {"calib", calib},
              {"decay",
               {{"shape", schedule.shape},
                {"unit", schedule.unit},
                {"start", schedule.start},
                {"end", schedule.end},
                {"per_step", schedule.per_step}}}};
    return j.dump(2);
}

TrainOptions TrainOptions::fromJson(const std::string& text) {
    TrainOptions o;
    try {
        json j = json::parse(text);
        o.model = j.at("model");
        o.arch = j.value("arch", "");
        o.weights_key = j.value("weights_key", "");
        o.heads = jsonnum::value<int>(j, "heads", 0);
        o.img_size = jsonnum::value<int>(j, "img_size", 0);
        o.data = j.value("data", "");
        o.out_dir = j.value("out_dir", "");
        o.epochs = jsonnum::at<int>(j, "epochs");
        o.batch = jsonnum::at<int>(j, "batch");
        o.global_batch = jsonnum::value<int>(j, "global_batch", 0);
        o.dist_timeout = jsonnum::value<int>(j, "dist_timeout", o.dist_timeout);
        o.lr = j.at("lr");
        o.min_lr = j.value("min_lr", o.min_lr);
        o.weight_decay = j.value("weight_decay", o.weight_decay);
        o.warmup_epochs = j.value("warmup_epochs", o.warmup_epochs);
        o.label_smoothing = j.value("label_smoothing", o.label_smoothing);
        o.mixup = j.value("mixup", 0.0);
        o.cutmix = j.value("cutmix", 0.0);
        o.drop_path = j.value("drop_path", o.drop_path);
        o.clip_grad = j.value("clip_grad", 0.0);
        o.augment = j.value("augment", o.augment);
        o.recipe = j.value("recipe", "");
        o.seed = jsonnum::value<uint64_t>(j, "seed", 0);
        o.device = j.value("device", o.device);
        o.amp = j.value("amp", o.amp);
        o.workers = jsonnum::value<int>(j, "workers", o.workers);
        o.train_limit = jsonnum::value<size_t>(j, "train_limit", 0);
        o.test_limit = jsonnum::value<size_t>(j, "test_limit", 0);
        o.select = j.value("select", "");
        o.calib = jsonnum::value<int>(j, "calib", o.calib);
        if (j.contains("decay")) {
            const auto& d = j["decay"];
            o.schedule.shape = d.value("shape", o.schedule.shape);
            o.schedule.unit = d.value("unit", o.schedule.unit);
            o.schedule.start = d.value("start", o.schedule.start);
            o.schedule.end = d.value("end", o.schedule.end);
            o.schedule.per_step = d.value("per_step", o.schedule.per_step);
        }
    } catch (const json::exception& e) {
        throw Error(std::string("training config: ") + e.what());
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
    if (!(weight_decay >= 0) || !finite(weight_decay) || weight_decay > 10) throw Error("weight decay must be in [0, 10]");
    if (!(warmup_epochs >= 0) || warmup_epochs > epochs)
        throw Error("warm-up epochs must be in [0, epochs] (" + std::to_string(epochs) + ")");
    if (!(label_smoothing >= 0) || label_smoothing >= 1) throw Error("label smoothing must be in [0, 1)");
    if (!(drop_path >= 0) || drop_path >= 1) throw Error("drop-path rate must be in [0, 1)");
    if (!(mixup >= 0) || !(cutmix >= 0) || !finite(mixup) || !finite(cutmix) || mixup > 100 || cutmix > 100)
        throw Error("mixup / cutmix alpha must be in [0, 100]");
    if (!(clip_grad >= 0) || !finite(clip_grad)) throw Error("gradient clipping norm must be >= 0 and finite");
    if (workers < 0 || workers > 256) throw Error("workers must be in [0, 256]");
    if (calib <= 0 || calib > 10000000) throw Error("calibration images must be in [1, 10000000]");
    if (amp != "auto" && amp != "off" && amp != "bf16" && amp != "fp16") throw Error("amp '" + amp + "': expected auto, off, bf16 or fp16");
    schedule.validate();
    // The automatic end (3/4 of the run) must come after an explicit start, or lambda would
    // divide by a negative span.
    if (schedule.end < 0 && schedule.unit == "epochs" && schedule.start >= 0.75 * epochs)
        throw Error("--decay-start " + std::to_string(schedule.start) + " epochs is not before the automatic end of the "
                    "decay (3/4 of " + std::to_string(epochs) + " epochs): give --decay-end too");
}

}  // namespace dilute::train
