#pragma once
// Export of the pruned model (SPEC section 5): attention removed where lambda reached 0, the
// doubling folded, timm-key safetensors with architecture metadata, and optionally a TorchScript
// module (built from C++) that runs in plain LibTorch or PyTorch without any Dilute code.
#include <string>
#include <vector>

#include "model/vit.h"

namespace dilute::io {

struct ExportOptions {
    std::string input;        // RUN_DIR (final.safetensors, else the weights of checkpoints/last.json) or a safetensors file
    std::string out;          // pruned .safetensors
    std::string torchscript;  // optional .pt
    bool fold = true;
    bool force = false;       // remove selected blocks even if their lambda is not 0 (changes the function)
    std::string arch;         // for timm files without metadata
};

struct ExportResult {
    std::string source;             // the weights file that was read
    std::vector<int> removed;       // blocks whose attention was removed now
    std::vector<int> already_removed;
    double max_abs_diff = 0;        // pruned vs diluted logits on a random batch
    double torchscript_max_abs_diff = -1;  // TorchScript vs pruned (when written)
};

/// Resolves a run folder to its weights file; a file, or a timm / Hugging Face model folder, is
/// returned as it is.
std::string weightsOf(const std::string& runDirOrFile);
ExportResult exportPruned(const ExportOptions& o);
/// Builds a standalone TorchScript module equivalent to `m` and saves it atomically.
void saveTorchScript(model::VisionTransformerImpl& m, const std::string& path);

}  // namespace dilute::io
