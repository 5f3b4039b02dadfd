#include "io/modelref.h"

#include "util/error.h"

namespace dilute::io {

namespace {

// The option rows are laid out by hand, a row's fields packed on a few lines (the formatter
// would give every field a line of its own).
// clang-format off
std::vector<OptionSpec<ModelRef>> build() {
    const std::string panel = "the Project panel's model fields";
    return {
        {"model", "--model,-m", "Model",
         "Preset (fresh weights), or a model to open: .safetensors, a torch.save file (.pth/.pt/.bin), a timm hub or "
         "Hugging Face folder, a run folder",
         "Run", 0, 0, {}, false, panel, memberField(&ModelRef::model), ""},
        {"arch", "--arch", "Architecture", "Preset to start from for weights that do not describe themselves", "Run", 0,
         0, {}, false, panel, memberField(&ModelRef::arch), "none"},
        {"weights_key", "--weights-key", "Weights key",
         "Checkpoint entry holding the weights (default: the first of model, state_dict, model_ema, state_dict_ema, "
         "module)",
         "Run", 0, 0, {}, false, panel, memberField(&ModelRef::weights_key), "auto"},
        {"heads", "--heads", "Heads", "Attention heads, for weights of a non-standard width without a config (0: inferred)",
         "Run", 0, 4096, {}, false, panel, memberField(&ModelRef::heads), "inferred"},
        {"img_size", "--img-size", "Image size",
         "Build the model at N px, the position embedding resampled as timm does (0: the model's own)", "Run", 0, 4096,
         {}, false, panel, memberField(&ModelRef::img_size), "the model's own"},
    };
}
// clang-format on

}  // namespace

void validateModelRef(const ModelRef& r) {
    for (const auto& s : modelRefOptionTable()) {
        ModelRef copy = r;
        const auto f = s.field(copy);
        if (const auto* v = std::get_if<int*>(&f); v && s.lo != s.hi && (**v < s.lo || **v > s.hi))
            throw Error(s.flags.substr(0, s.flags.find(',')) + " " + std::to_string(**v) + " is outside [" +
                        std::to_string(static_cast<long long>(s.lo)) + ", " +
                        std::to_string(static_cast<long long>(s.hi)) + "]");
    }
}

const std::vector<OptionSpec<ModelRef>>& modelRefOptionTable() {
    static const std::vector<OptionSpec<ModelRef>> table = build();
    return table;
}

}  // namespace dilute::io
