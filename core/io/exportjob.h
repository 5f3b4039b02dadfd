#pragma once
// The export job (`dilute export`) in the one job shape (util/job.h): exportPruned, then what
// the user is told about it (a run's last checkpoint exported, the cost before and after).
#include <string>

#include "io/export.h"
#include "util/job.h"

namespace dilute::io {

/// Progress (export), and a note when a run without final.safetensors had its last checkpoint
/// exported.
using ExportObserver = JobObserver<ExportResult>;

ExportResult runExport(const ExportOptions& o, const ExportObserver& obs = {}, const CancelToken* cancel = nullptr);
std::string exportToJson(const ExportResult& r);

using ExportJob = Job<ExportOptions, ExportResult>;
const ExportJob& exportJob();

}  // namespace dilute::io
