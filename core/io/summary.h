#pragma once
// What an opened model is, in rows of (label, text): where it came from (format, key layout,
// what was renamed, fused, averaged or ignored, what moved it to the options), its family, the
// preprocessing in force and its class names. `dilute info` prints these rows and the
// workbench's model panel shows them: one description for both.
#include <string>
#include <utility>
#include <vector>

#include "io/weights.h"

namespace dilute::io {

using SummaryRows = std::vector<std::pair<std::string, std::string>>;

SummaryRows modelSummary(const model::ViTConfig& c, const ModelOrigin& origin);

}  // namespace dilute::io
