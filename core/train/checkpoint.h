#pragma once
// Run-folder files: checkpoints (atomic, self-consistent), metrics.jsonl, config.json.
#include <torch/optim/adamw.h>

#include <fstream>
#include <string>
#include <vector>

#include "model/vit.h"

namespace dilute::train {

struct CheckpointState {
    int epoch = 0;               // epoch in progress (== completed epochs at an epoch boundary)
    long long step = 0;          // global steps done
    double best_top1 = -1;
    std::vector<int> blocks;     // selection
    std::string selector;
    std::vector<double> lambdas; // per selected block
};

/// Writes DIR/NAME.safetensors, DIR/NAME.optim.pt (when `opt`), DIR/NAME.json, each atomically,
/// the JSON last; the step is stored in all of them so a torn write is detected on load.
void saveCheckpoint(const std::string& dir, const std::string& name, model::VisionTransformerImpl& m,
                    torch::optim::Optimizer* opt, const CheckpointState& st);
CheckpointState readCheckpointState(const std::string& dir, const std::string& name);
/// Loads weights (and optimizer state) of a checkpoint written by saveCheckpoint into `m`/`opt`.
void loadCheckpoint(const std::string& dir, const std::string& name, model::VisionTransformerImpl& m,
                    torch::optim::Optimizer* opt, const CheckpointState& st);

/// Appends one JSON object per line and flushes.
class MetricsLog {
public:
    explicit MetricsLog(const std::string& path);
    void write(const std::string& jsonLine);
    /// Keeps only events whose step <= `step` (on resume, drops what came after the checkpoint).
    static void truncateAfter(const std::string& path, long long step);

private:
    std::string path_;
    std::ofstream out_;
};

}  // namespace dilute::train
