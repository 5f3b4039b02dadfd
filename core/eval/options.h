#pragma once
// The evaluation job's options (`dilute eval`): a model on a dataset split (top-1, top-5, loss,
// images per second), or on a fixed input tensor (its logits). No LibTorch here.
#include <cstdint>
#include <functional>
#include <string>

#include "io/modelref.h"
#include "util/job.h"

namespace dilute::eval {

struct EvalOptions : io::ModelRef {
    std::string data;  // dataset URI ("" = the model's default)
    std::string split = "test";
    uint64_t limit = 0;  // the first N images of the split (file order); 0: all
    int batch = 256;
    int workers = 2;
    std::string device = "auto";
    std::string input;             // instead of a dataset: the tensor 'input' [B,C,H,W] of a safetensors file
    std::string logits_out;        // with `input`: where the logits go (tensor 'logits', F32)
    bool allow_nonfinite = false;  // with `input`: run a tensor holding NaN or Inf (warned about)
};

struct EvalJobResult;
/// Progress, and log lines: "warning: ..." for NaN weights, skipped images, input warnings.
using EvalObserver = JobObserver<EvalJobResult>;

}  // namespace dilute::eval
