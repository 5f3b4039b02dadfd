#pragma once
// The inspection job's options (`dilute inspect` and the workbench's Inspect view), defined once;
// see util/optiontable.h.
#include <vector>

#include "inspect/options.h"
#include "util/optiontable.h"

namespace dilute::inspect {

using OptionSpec = ::dilute::OptionSpec<InspectOptions>;

/// Every option of `dilute inspect` (and of the Inspect view's form), in display order.
const std::vector<OptionSpec>& inspectOptionTable();

}  // namespace dilute::inspect
