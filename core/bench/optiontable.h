#pragma once
// The options of `dilute bench` (BenchOptions) and of the export-and-measure job (`dilute
// measure`, the workbench's Export view), defined once; see util/optiontable.h.
#include <vector>

#include "util/optiontable.h"

namespace dilute::bench {

struct BenchOptions;
struct BenchJobOptions;
struct MeasureOptions;

/// Throughput batch, repeats, latency runs, alternation rounds, warm-up, device.
const std::vector<OptionSpec<BenchOptions>>& benchOptionTable();
/// `dilute bench`: the model options, --vs, --remove, then the bench table's options.
const std::vector<OptionSpec<BenchJobOptions>>& benchJobOptionTable();
/// Run, export folder, full model, data, device, evaluation images, then the bench table's
/// options (its device is the job's device).
const std::vector<OptionSpec<MeasureOptions>>& measureOptionTable();

}  // namespace dilute::bench
