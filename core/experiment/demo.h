#pragma once
// The main job end to end on the embedded Fashion-MNIST: train the small preset from scratch
// (or reuse the cached baseline), analyze, select a third of the blocks with NOSE, fine-tune
// with dilution, export the pruned model, benchmark full vs pruned, write report.md.
#include <functional>
#include <string>

#include "bench/bench.h"
#include "experiment/demooptions.h"
#include "train/events.h"
#include "util/cancel.h"

namespace dilute::experiment {

struct DemoResult {
    double base_top1 = 0, nose_top1 = 0, random_top1 = -1;
    double control_top1 = 0;  // the same fine-tuning from the same baseline, no block removed (equal budget)
    std::vector<int> nose_blocks, random_blocks;
    bench::BenchResult full, pruned;
    double seconds = 0;
    bool baseline_reused = false;
    std::string report_path;
    std::string device;  // the resolved device
};

struct DemoObserver {
    std::function<void(const std::string& stage)> onStage;
    train::TrainObserver train;
};

DemoResult runDemo(const DemoOptions& o, const DemoObserver& obs = {}, const CancelToken* cancel = nullptr);
std::string demoReport(const DemoOptions& o, const DemoResult& r);

}  // namespace dilute::experiment
