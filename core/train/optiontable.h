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
/// A training recipe: the values of the options marked `recipe` in the table, at a reference
/// batch; the learning rate scales linearly with the global batch (batch x processes).
struct Recipe {
    std::string name;    // deit-scratch | deit-finetune | small-scratch | small-finetune | none
    std::string source;  // where the numbers come from, one line
    int epochs = 0, batch = 0;
    double lr = 0;  // at a global batch of `batch`
    double warmup_epochs = 0, weight_decay = 0, label_smoothing = 0, mixup = 0, cutmix = 0, drop_path = 0;
};
/// The one derivation of the recipe, from the architecture and the mode: a preset trains from
/// scratch, any model opened from a file or folder is fine-tuned (its architecture as
/// io::describeModel settles it, --img-size applied). 224-px models follow DeiT from scratch and the paper when
/// fine-tuning (SPEC section 6); the small presets have short recipes of their own. "none" when the architecture cannot
/// be known (e.g. the file is missing: the run's own error says so).
Recipe deriveRecipe(const io::ModelRef& ref);
Recipe deriveRecipe(const std::string& model, const std::string& arch = "");
/// The preset's from-scratch recipe applied to every recipe option of `o` (a file: nothing).
void applyPresetDefaults(TrainOptions& o, const std::string& preset);
/// The options the user did not give take the recipe of `model` (`o.arch` for timm files), the
/// lr scaled to the global batch `o.batch` x `world` unless given; `o.recipe` records the name.
/// What the CLI does after parsing and the GUI does when the model (or the processes) change.
Recipe applyRecipe(TrainOptions& o, const std::string& model, const std::function<bool(const OptionSpec&)>& given,
                   int world = 1);

}  // namespace dilute::train
