#pragma once
// The export job's options (`dilute export`; the workbench exports a run through the measure
// job, bench/optiontable.h) and info's (io/info.h), defined once; see util/optiontable.h.
#include <vector>

#include "io/export.h"
#include "util/optiontable.h"

namespace dilute::io {

/// Every option of `dilute export`, in display order.
const std::vector<OptionSpec<ExportOptions>>& exportOptionTable();

}  // namespace dilute::io
