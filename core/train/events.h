#pragma once
// Plain values the trainer reports (no tensors): the CLI draws a progress bar from them, the
// GUI plots them, metrics.jsonl stores them.
#include <functional>
#include <string>
#include <vector>

#include "util/cancel.h"

namespace dilute::train {

struct StepEvent {
    long long step = 0;  // global step, 1-based after the update
    long long steps_total = 0;
    int epoch = 0;   // 0-based epoch in progress
    int epochs = 0;  // epochs of the run
    double loss = 0, lr = 0, images_per_s = 0;
    std::vector<int> blocks;      // the selected blocks
    std::vector<double> lambdas;  // lambda of each selected block
};

struct EpochEvent {
    int epoch = 0;  // 0-based epoch just finished
    long long step = 0;
    double train_loss = 0;
    double test_top1 = 0, test_top5 = 0, test_loss = 0;
    double seconds = 0, images_per_s = 0;
    std::vector<double> lambdas;
    bool best = false;  // saved as best.* (only once every selected lambda is 0)
};

struct TrainObserver {
    std::function<void(const StepEvent&)> onStep;
    std::function<void(const EpochEvent&)> onEpoch;
    std::function<void(const std::string&)> log;
    std::function<void(const Progress&)> progress;  // selection / evaluation phases
};

struct TrainSummary {
    std::string run_dir;
    std::vector<int> blocks;
    std::string selector;
    double final_top1 = 0, final_top5 = 0, best_top1 = -1;
    long long steps = 0;
    int epochs_done = 0;
    double seconds = 0;
    bool cancelled = false;
    long long skipped_train = 0, skipped_test = 0;  // undecodable images skipped, all epochs together
};

}  // namespace dilute::train
