#pragma once
// Model weights <-> safetensors, with the architecture stored as JSON in __metadata__.
#include <map>
#include <string>
#include <vector>

#include "model/vit.h"

namespace dilute::io {

struct LoadReport {
    std::vector<std::string> missing, unexpected, mismatched;  // mismatched: "key: file [..] vs model [..]"
    bool clean() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    std::string describe() const;
};

/// Copies tensors into the model by timm key. Strict: any problem throws one Error listing them
/// all (prefixed by `source`). Non-strict: loads what fits and returns the report of what it skipped.
LoadReport loadStateDict(model::VisionTransformerImpl& m, const std::vector<std::pair<std::string, torch::Tensor>>& sd,
                         bool strict, const std::string& source);

/// Architecture JSON (preset fields + removed blocks + folded flag).
std::string archToJson(const model::ViTConfig& cfg, const std::vector<int>& removed, bool folded);
model::ViTConfig archFromJson(const std::string& json, std::vector<int>* removed, bool* folded);

/// Saves weights (timm keys) + "dilute.arch" metadata (+ `extra` metadata) atomically.
void saveModel(model::VisionTransformerImpl& m, const std::string& path,
               const std::map<std::string, std::string>& extra = {}, torch::Dtype dtype = torch::kFloat);

struct OpenOptions {
    std::string arch;        // a preset to start from for files without "dilute.arch" metadata
    std::string weights_key; // torch checkpoints: the entry holding the weights (--weights-key)
    int heads = 0;           // what the weights cannot tell (--heads)
    bool strict = true;
    uint64_t seed = 0;       // initialisation seed when `spec` is a preset
};
/// Where an opened model came from (`info`, the workbench's model panel).
struct ModelOrigin {
    std::string format = "preset";  // preset | dilute safetensors | safetensors | pytorch zip | ...
    std::string layout = "timm";    // timm | hf-vit | hf-deit | torchvision | dinov2
    std::vector<std::string> mapping;  // what was renamed, fused, averaged or ignored
};
/// Opens "PRESET" (freshly initialised), a Dilute safetensors file (self-describing), or any
/// other source io/source.h reads (safetensors, .pth/.pt/.bin, timm hub and Hugging Face
/// folders), its architecture inferred from its config and tensors (io/infer.h). Removed blocks
/// of a file without metadata are inferred from missing attention keys.
model::VisionTransformer openModel(const std::string& spec, const OpenOptions& opts = {},
                                   std::map<std::string, std::string>* metadata = nullptr,
                                   LoadReport* report = nullptr, ModelOrigin* origin = nullptr);

/// The names of the model's parameters that hold NaN or infinite values (empty when all finite).
std::vector<std::string> nonFiniteParameters(model::VisionTransformerImpl& m);

}  // namespace dilute::io
