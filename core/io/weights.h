#pragma once
// Model weights <-> safetensors, with the architecture stored as JSON in __metadata__.
#include <map>
#include <string>
#include <vector>

#include "io/modelref.h"
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
    std::string arch;         // a preset to start from for files without "dilute.arch" metadata
    std::string weights_key;  // torch checkpoints: the entry holding the weights (--weights-key)
    int heads = 0;            // what the weights cannot tell (--heads)
    int img_size = 0;         // build at this resolution, pos_embed resampled (--img-size; 0: the source's)
    int num_classes = -1;     // a new head for this many classes when it differs (-1: the source's)
    std::string data;         // the dataset the model is moved to: its default data from now on ("": keep)
    bool strict = true;
    uint64_t seed = 0;  // initialisation seed of a preset and of a new head
};
/// Where an opened model came from (`info`, the workbench's model panel).
struct ModelOrigin {
    std::string format = "preset";     // preset | dilute safetensors | safetensors | pytorch zip | ...
    std::string layout = "timm";       // timm | hf-vit | hf-deit | torchvision | dinov2
    std::vector<std::string> mapping;  // what was renamed, fused, averaged or ignored
    std::vector<std::string> adapted;  // what moved it to the options (io/adapt.h): resolution, new head
    std::vector<int> selection;        // a Dilute run's final weights: the blocks it diluted (provenance)
};
/// Opens "PRESET" (freshly initialised), a Dilute safetensors file (self-describing), or any
/// other source io/source.h reads (safetensors, .pth/.pt/.bin, timm hub and Hugging Face
/// folders), its architecture inferred from its config and tensors (io/infer.h), then moved to
/// opts.img_size / opts.num_classes (io/adapt.h; `origin->mapping` says what changed). Removed
/// blocks of a file without metadata are inferred from missing attention keys.
model::VisionTransformer openModel(const std::string& spec, const OpenOptions& opts = {},
                                   std::map<std::string, std::string>* metadata = nullptr, LoadReport* report = nullptr,
                                   ModelOrigin* origin = nullptr);

/// The record openModel would build for `spec` (read, inferred and adapted; no model built) and
/// where it came from: what a recipe or the model panel needs before a job runs. Throws as
/// openModel does.
model::ViTConfig describeModel(const std::string& spec, const OpenOptions& opts = {}, ModelOrigin* origin = nullptr);

/// The open options a job's ModelRef asks for.
inline OpenOptions openOptionsOf(const ModelRef& r) {
    OpenOptions o;
    o.arch = r.arch;
    o.weights_key = r.weights_key;
    o.heads = r.heads;
    o.img_size = r.img_size;
    return o;
}

/// The names of the model's parameters that hold NaN or infinite values (empty when all finite).
std::vector<std::string> nonFiniteParameters(model::VisionTransformerImpl& m);

/// A fingerprint of the weights (CRC-32 over every parameter's and buffer's name and float32
/// values, in order, as 8 hex digits): the same numbers give the same text whatever file they
/// came from. A run records its starting weights' so `measure --baseline` can tell whether the
/// baseline is the model the run started from.
std::string weightsFingerprint(model::VisionTransformerImpl& m);

}  // namespace dilute::io
