#pragma once
// The analysis job's options (`dilute analyze` and the workbench's Analysis view), defined once;
// see util/optiontable.h.
#include <vector>

#include "analysis/options.h"
#include "util/optiontable.h"

namespace dilute::analysis {

using OptionSpec = ::dilute::OptionSpec<AnalysisOptions>;

/// Every option of `dilute analyze` (and of the Analysis view's form), in display order.
const std::vector<OptionSpec>& analysisOptionTable();

}  // namespace dilute::analysis
