#pragma once
// The training job's options, defined once: name (config.json key, GUI object name), CLI flags,
// help, GUI group, range, choices, whether the preset recipe sets it, and where it is edited.
// The CLI's `train` options and the workbench's training form are both generated from this
// table, and a test checks that every option the CLI has, the GUI has (or is marked CLI-only
// with the reason), with the same default.
#include <functional>
#include <string>
#include <vector>

#include "train/options.h"
#include "util/optiontable.h"

namespace dilute::train {

using OptionSpec = ::dilute::OptionSpec<TrainOptions>;
using ::dilute::optionText;

/// Every option of `dilute train` (and of the workbench's Training view), in display order.
const std::vector<OptionSpec>& trainOptionTable();
const OptionSpec* findTrainOption(const std::string& name);
/// The preset's recipe (epochs, batch, lr, warm-up, drop-path, mixup/cutmix) applied to `o`;
/// a weights file (not a preset) leaves `o` as it is.
void applyPresetDefaults(TrainOptions& o, const std::string& preset);
/// The options the user did not give take the recipe of `model` (a preset; files keep the
/// defaults): what the CLI does after parsing and the GUI does when the model changes.
void applyRecipe(TrainOptions& o, const std::string& model, const std::function<bool(const OptionSpec&)>& given);

}  // namespace dilute::train
