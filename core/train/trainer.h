#pragma once
// The trainer: from scratch or fine-tuning with dilution (SPEC section 4), in a run folder:
//   config.json, metrics.jsonl, checkpoints/last.{safetensors,optim.pt,json}, best.*, final.safetensors
#include <memory>
#include <string>

#include "train/events.h"
#include "train/options.h"
#include "train/runfolder.h"

namespace dilute::dist {
class Group;
}

namespace dilute::train {

/// Runs a training job. Data-parallel when `group` has several processes (or, when it is null,
/// when the environment describes a launch: torchrun, SLURM, Open MPI); rank 0 alone writes the
/// run folder and calls the observer. Throws dilute::Cancelled after writing a checkpoint when cancelled,
/// dilute::Error on bad input or a non-finite loss (the last good checkpoint is kept).
TrainSummary train(const TrainOptions& opts, const TrainObserver& obs = {}, const CancelToken* cancel = nullptr,
                   std::shared_ptr<dist::Group> group = nullptr);

/// Continues RUN_DIR from its last checkpoint, with the options in its config.json. Any number
/// of processes may resume a run: the global batch and the data order are kept, each process
/// takes its shard from the recorded step on. Every rank reads RUN_DIR (a shared filesystem).
TrainSummary resume(const std::string& runDir, const TrainObserver& obs = {}, const CancelToken* cancel = nullptr,
                    std::shared_ptr<dist::Group> group = nullptr, long long stopAtStep = -1);

}  // namespace dilute::train
