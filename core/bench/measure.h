#pragma once
// Export and measure, one core job for the workbench and the demo: export the pruned model of a
// run (safetensors + TorchScript), evaluate the full and the pruned model on the test split, and
// benchmark both (alternating), all on the chosen device.
#include <functional>
#include <string>

#include "bench/bench.h"
#include "io/export.h"
#include "util/cancel.h"

namespace dilute::bench {

struct MeasureOptions {
    std::string run;            // run folder (or weights file) whose diluted blocks are removed
    std::string out_dir;        // writes pruned.safetensors and pruned.pt here
    std::string baseline;       // the full model compared against (run folder, weights file or preset)
    std::string data;           // dataset URI for accuracy ("" = the model's default)
    std::string device = "cpu"; // evaluation and benchmark
    size_t eval_images = 2000;  // first N test images for top-1 (0 = skip the evaluation)
    BenchOptions bench;         // batch, repeats, latency runs, rounds (device is set from `device`)
};

struct MeasureResult {
    io::ExportResult exported;
    std::string pruned_path, torchscript_path;
    double top1_full = -1, top1_pruned = -1;  // -1: not evaluated
    BenchResult full, pruned;
};

MeasureResult exportAndMeasure(const MeasureOptions& o, const std::function<void(const Progress&)>& progress = {},
                               const CancelToken* cancel = nullptr);

}  // namespace dilute::bench
