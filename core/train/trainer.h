#pragma once
// The trainer: from scratch or fine-tuning with dilution (SPEC section 4), in a run folder:
//   config.json, metrics.jsonl, checkpoints/last.{safetensors,optim.pt,json}, best.*, final.safetensors
#include <string>

#include "train/events.h"
#include "train/options.h"

namespace dilute::train {

/// Runs a training job. Throws dilute::Cancelled after writing a checkpoint when cancelled,
/// dilute::Error on bad input or a non-finite loss (the last good checkpoint is kept).
TrainSummary train(const TrainOptions& opts, const TrainObserver& obs = {}, const CancelToken* cancel = nullptr);

/// Continues RUN_DIR from its last checkpoint, with the options in its config.json.
TrainSummary resume(const std::string& runDir, const TrainObserver& obs = {}, const CancelToken* cancel = nullptr);

/// Sensible defaults for a preset (epochs, batch, lr, warm-up, augmentation) applied to `o`.
void applyPresetDefaults(TrainOptions& o, const std::string& preset);

}  // namespace dilute::train
