#pragma once
// The export job's options (`dilute export`), defined once; see util/optiontable.h. A CLI job:
// the workbench exports a run through the measure job (bench/optiontable.h).
#include <vector>

#include "io/export.h"
#include "util/optiontable.h"

namespace dilute::io {

/// Every option of `dilute export`, in display order.
const std::vector<OptionSpec<ExportOptions>>& exportOptionTable();

}  // namespace dilute::io
