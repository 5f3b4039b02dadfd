#pragma once
// `dilute info` in the one job shape (util/job.h): what a model is (architecture, where it came
// from, parameters and GMAC per block, attention vs MLP, removed blocks), or the presets.
#include <string>
#include <vector>

#include "io/modelref.h"
#include "io/weights.h"
#include "model/cost.h"
#include "model/preset.h"
#include "util/job.h"

namespace dilute::io {

struct InfoOptions : ModelRef {
    bool list = false;  // the presets (also without a model)
};
const std::vector<OptionSpec<InfoOptions>>& infoOptionTable();

struct ModelInfo {
    std::string model;  // as given; "" for the preset list
    model::ViTConfig config;
    ModelOrigin origin;
    std::vector<std::string> modes;  // per block: full | diluted | removed
    std::vector<int> removed;
    bool folded = false;
    long long params = 0;              // counted from the tensors
    model::ModelCost cost;             // analytic, without the removed blocks' attention
    std::vector<std::string> presets;  // with --list (or no model): their names (model::preset(name))
};

ModelInfo runInfo(const InfoOptions& o, const JobObserver<ModelInfo>& obs = {}, const CancelToken* cancel = nullptr);
std::string infoToJson(const ModelInfo& r);

using InfoJob = Job<InfoOptions, ModelInfo>;
const InfoJob& infoJob();

}  // namespace dilute::io
