#pragma once
// The training job's options, defined once: name (config.json key, GUI object name), CLI flags,
// help, GUI group, range, choices, whether the preset recipe sets it, and where it is edited.
// The CLI's `train` options and the workbench's training form are both generated from this
// table, and a test checks that every option the CLI has, the GUI has (or is marked CLI-only
// with the reason), with the same default.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "train/options.h"

namespace dilute::train {

// size_t fields (train_limit, test_limit) are uint64_t on the 64-bit platforms Dilute targets.
static_assert(std::is_same_v<size_t, uint64_t>, "size_t options are stored as uint64_t");
using OptionField = std::variant<int*, long long*, uint64_t*, double*, bool*, std::string*>;

struct OptionSpec {
    std::string name;    // config.json key; the GUI editor's objectName
    std::string flags;   // CLI11 names, e.g. "--epochs,-e"; "!--per-epoch" is a flag that clears the field
    std::string label;   // GUI label
    std::string help;    // CLI help and GUI tooltip
    std::string group;   // GUI section: Schedule, Optimizer, Regularization, Dilution, Data, System
    double lo = 0, hi = 0;             // numeric range (lo == hi: none)
    std::vector<std::string> choices;  // text options with a fixed set
    bool recipe = false;               // the preset recipe decides it unless given
    std::string cliOnly;               // why the GUI form does not show it ("" = it does)
    std::function<OptionField(TrainOptions&)> field;
};

/// Every option of `dilute train` (and of the workbench's Training view), in display order.
const std::vector<OptionSpec>& trainOptionTable();
const OptionSpec* findTrainOption(const std::string& name);
/// The option's value in `o`, as text (numbers in shortest round-trip form).
std::string optionText(const OptionSpec& s, const TrainOptions& o);
/// The preset's recipe (epochs, batch, lr, warm-up, drop-path, mixup/cutmix) applied to `o`;
/// a weights file (not a preset) leaves `o` as it is.
void applyPresetDefaults(TrainOptions& o, const std::string& preset);
/// The options the user did not give take the recipe of `model` (a preset; files keep the
/// defaults): what the CLI does after parsing and the GUI does when the model changes.
void applyRecipe(TrainOptions& o, const std::string& model, const std::function<bool(const OptionSpec&)>& given);

}  // namespace dilute::train
