#pragma once
// The inspection job's options (`dilute inspect` and the workbench's Inspect view): what each
// attention layer does, per image (SPEC section 7). No LibTorch here, so GUI headers can use it.
#include <cstdint>
#include <functional>
#include <string>

#include "io/modelref.h"
#include "util/job.h"

namespace dilute::inspect {

struct InspectOptions : io::ModelRef {
    std::string data;  // dataset URI ("" = the model's default)
    std::string split = "test";
    int images = 16;               // a class-stratified sample of the split (0: all of it)
    uint64_t seed = 0;             // the sample's seed
    std::string input;             // instead of a dataset: the tensor 'input' [N,C,H,W] of a safetensors file
    bool allow_nonfinite = false;  // run an input tensor holding NaN or Inf (warned about)
    std::string vs;                // a second model: the per-image comparison (full vs pruned, any two runs)
    int overlays = 8;              // PNG overlays written for the first N images (0: none)
    int batch = 8;
    std::string device = "auto";
    int workers = 2;
    std::string out_dir;  // write inspect.json, inspect.safetensors and the overlays here ("" = nowhere)
};

struct InspectResult;

/// Progress (phase: images | attention | compare), log lines, and the result so far after each
/// batch of images (the views draw it as it comes).
using InspectObserver = JobObserver<InspectResult>;

}  // namespace dilute::inspect
