#pragma once
// The study job's options (`dilute study` and the workbench's Study view), defined once; see
// util/optiontable.h.
#include <vector>

#include "experiment/study.h"
#include "util/optiontable.h"

namespace dilute::experiment {

/// Every option of `dilute study` (and of the Study view's form), in display order.
const std::vector<OptionSpec<StudyOptions>>& studyOptionTable();

}  // namespace dilute::experiment
