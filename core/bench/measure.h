#pragma once
// Export and measure, one core job for the workbench and the demo: export the pruned model of a
// run (safetensors + TorchScript), evaluate the full and the pruned model on the test split, and
// benchmark both (alternating), all on the chosen device; writes OUT/measure.json.
#include <functional>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "bench/options.h"
#include "io/export.h"
#include "util/job.h"

namespace dilute::bench {

struct MeasureResult {
    MeasureOptions options;  // as run: out_dir filled in (RUN/export when not given)
    io::ExportResult exported;
    std::string pruned_path, torchscript_path;
    std::string onnx_path, timm_dir;          // "" when not written
    std::string report_path;                  // measure.json beside the exported files
    double top1_full = -1, top1_pruned = -1;  // -1: not evaluated
    size_t eval_images = 0;                   // test images the top-1 figures rest on
    std::string device;                       // where it was measured (resolved)
    BenchResult full, pruned;
    /// What the figures rest on that the user may not expect, one line each: the last checkpoint
    /// of an unfinished run, a baseline that is not the model the run started from.
    std::vector<std::string> notes;
};

/// Progress (export | evaluate | bench) and the notes as log lines ("note: ...").
using MeasureObserver = JobObserver<MeasureResult>;

/// Needs o.run; o.out_dir defaults to RUN/export.
MeasureResult exportAndMeasure(const MeasureOptions& o, const MeasureObserver& obs = {},
                               const CancelToken* cancel = nullptr);
/// What exportAndMeasure writes to OUT/measure.json (format dilute.measure/1).
std::string measureToJson(const MeasureResult& r);

using MeasureJob = Job<MeasureOptions, MeasureResult>;
const MeasureJob& measureJob();

}  // namespace dilute::bench
