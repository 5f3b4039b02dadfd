#pragma once
// Classification evaluation: top-1, top-5, mean cross-entropy, throughput.
#include <functional>
#include <string>

#include "data/loader.h"
#include "model/vit.h"
#include "util/cancel.h"

namespace dilute::dist {
class Group;
}

namespace dilute::train {

struct EvalResult {
    double top1 = 0, top5 = 0, loss = 0;  // accuracies in percent
    long long images = 0;                 // over every rank when reduced
    long long correct1 = 0, correct5 = 0;
    double loss_sum = 0;
    double seconds = 0, images_per_s = 0;
};

using ProgressFn = std::function<void(const Progress&)>;

/// Runs the model (eval mode, no grad) over one epoch of `loader`. `device`: "cpu", "cuda", ...
/// With a `group` of several processes, each evaluates its shard of the loader and the counts
/// are summed over the ranks, so every image counts exactly once and every rank gets the total.
EvalResult evaluate(model::VisionTransformerImpl& m, data::Loader& loader, const std::string& device = "cpu",
                    const CancelToken* cancel = nullptr, const ProgressFn& progress = {}, dist::Group* group = nullptr);

}  // namespace dilute::train
