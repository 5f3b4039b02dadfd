#pragma once
// The evaluation job: options (eval/optiontable.h) -> runEval -> EvalJobResult -> JSON.
#include <string>
#include <vector>

#include "eval/options.h"

namespace dilute::eval {

struct EvalJobResult {
    std::string model, data, split, describe;  // describe: the dataset as its reader names it
    long long images = 0;
    double top1 = 0, top5 = 0, loss = 0, images_per_s = 0;
    long long skipped = 0, skipped_files = 0;  // undecodable images left out
    std::vector<std::string> skipped_examples;
    // With an input tensor: the logits written, and their shape.
    std::string logits_out, device;
    long long logits_rows = 0, logits_cols = 0;
};

/// Opens opts.model and evaluates it (or writes the logits of opts.input). Throws Error naming
/// the file or option at fault; Cancelled when `cancel` fires.
EvalJobResult runEval(const EvalOptions& opts, const EvalObserver& obs = {}, const CancelToken* cancel = nullptr);

/// The result as JSON (`dilute eval --json`).
std::string evalToJson(const EvalJobResult& r);

using EvalJob = Job<EvalOptions, EvalJobResult>;
const EvalJob& evalJob();

}  // namespace dilute::eval
