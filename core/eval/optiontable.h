#pragma once
// The evaluation job's options, defined once; see util/optiontable.h.
#include <vector>

#include "eval/options.h"
#include "util/optiontable.h"

namespace dilute::eval {

using OptionSpec = ::dilute::OptionSpec<EvalOptions>;

/// Every option of `dilute eval`, in display order.
const std::vector<OptionSpec>& evalOptionTable();

}  // namespace dilute::eval
