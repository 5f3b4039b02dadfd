#pragma once
// Checkpoint sets of a run folder: atomic, checksummed, kill -9 safe.
//
// A checkpoint is one set: checkpoints/step-NNNNNNNNN/{model.safetensors, optim.pt}. The set is
// written into a temp folder, flushed, and renamed into place; then the manifests that point at
// it (checkpoints/last.json, checkpoints/best.json: state, set folder, size and CRC-32 of every
// file) are replaced atomically, last. A crash at any moment leaves the previous manifest and
// the set it names whole. Sets, files and temp folders that no manifest names are removed after
// each save (and before a resume). Run folders from before sets (last.safetensors beside
// last.json, no checksums) still resume.
#include <torch/optim/optimizer.h>

#include <string>
#include <vector>

#include "model/vit.h"

namespace dilute::io {

struct CheckpointState {
    int epoch = 0;       // epoch in progress (== completed epochs at an epoch boundary)
    long long step = 0;  // global steps done
    double best_top1 = -1;
    std::vector<int> blocks;  // selection
    std::string selector;
    std::vector<double> lambdas;  // per selected block
};

/// Writes one set for `st` and points each of `pointers` ("last", "best") at it. The optimizer
/// state is stored when `opt` is given and is listed only in the "last" manifest.
void saveCheckpoint(const std::string& dir, const std::vector<std::string>& pointers, model::VisionTransformerImpl& m,
                    torch::optim::Optimizer* opt, const CheckpointState& st);
/// Reads DIR/NAME.json; every field is range-checked (errors name the file and the field).
CheckpointState readCheckpointState(const std::string& dir, const std::string& name);
/// The run's own limits for a state read back: epoch within the run, step consistent with the
/// epoch and steps per epoch, blocks inside the model, one lambda per block.
void checkStateFitsRun(const CheckpointState& st, const std::string& manifest, int epochs, long long stepsPerEpoch,
                       int depth);
/// Loads weights (and optimizer state) of checkpoint NAME into `m`/`opt`, after verifying the
/// size and checksum of every file of its set.
void loadCheckpoint(const std::string& dir, const std::string& name, model::VisionTransformerImpl& m,
                    torch::optim::Optimizer* opt, const CheckpointState& st);
/// The weights file checkpoint NAME points at ("" when DIR has no such checkpoint).
std::string checkpointWeights(const std::string& dir, const std::string& name);
/// Removes temp folders, stale temp files and sets or files no manifest names. Does nothing when
/// a manifest cannot be read (nothing is deleted on a guess).
void cleanCheckpoints(const std::string& dir);

}  // namespace dilute::io
