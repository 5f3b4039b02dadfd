#pragma once
// Export of the pruned model (SPEC section 5): attention removed where lambda reached 0, the
// doubling folded, timm-key safetensors with architecture metadata, and optionally a TorchScript
// module (built from C++) that runs in plain LibTorch or PyTorch without any Dilute code.
#include <string>
#include <vector>

#include "io/modelref.h"
#include "model/vit.h"

namespace dilute::io {

// The model: io::ModelRef's `model` is a RUN_DIR (final.safetensors, else the weights of
// checkpoints/last.json) or any model file or folder io/weights.h opens, with its options.
struct ExportOptions : ModelRef {
    std::string out;          // pruned .safetensors
    std::string torchscript;  // optional .pt
    std::string onnx;  // optional .onnx (io/onnx.h); alone (no `out`): the model as it is, blocks at lambda 0 removed
    int onnx_opset = 17;  // 17 (LayerNormalization) or 13 (primitives)
    std::string timm;     // optional folder: a timm hub folder + dilute_vit.py (io/timmfolder.h)
    std::string remove;   // without `out`: also remove these blocks' attention ("0,2,4"; a what-if: changes the output)
    bool fold = true;
    bool force = false;  // remove selected blocks even if their lambda is not 0 (changes the function)
};

struct ExportResult {
    std::string source;        // the weights file that was read
    std::vector<int> removed;  // blocks whose attention was removed now
    std::vector<int> already_removed;
    double max_abs_diff = 0;               // pruned vs diluted logits on a random batch
    double torchscript_max_abs_diff = -1;  // TorchScript vs pruned (when written)
    int onnx_nodes = 0;                    // when written
    std::string onnx_external;             // its external data file, when used
    // Filled by the export job (io/exportjob.h): the options it ran with and, with `out`, the
    // analytic cost of the model before and after.
    ExportOptions options;
    long long params_full = 0, params_pruned = 0;
    double gmac_full = 0, gmac_pruned = 0;
    std::vector<int> pruned_blocks;  // every block of `out` without attention (removed now or before)
};

/// Resolves a run folder to its weights file; a file, or a timm / Hugging Face model folder, is
/// returned as it is.
std::string weightsOf(const std::string& runDirOrFile);
/// Removes the attention of blocks diluted to 0 and writes `out` (+ TorchScript, ONNX, timm folder);
/// without `out`, writes the model as it is to ONNX and / or a timm folder (blocks at lambda 0
/// removed, the others kept as they compute).
ExportResult exportPruned(const ExportOptions& o);
/// Builds a standalone TorchScript module equivalent to `m` and saves it atomically.
void saveTorchScript(model::VisionTransformerImpl& m, const std::string& path);

}  // namespace dilute::io
