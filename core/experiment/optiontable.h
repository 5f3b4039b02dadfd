#pragma once
// The study job's options (`dilute study` and the workbench's Study view) and the demo's
// (`dilute demo`), defined once; see util/optiontable.h.
#include <vector>

#include "experiment/demooptions.h"
#include "experiment/study.h"
#include "util/optiontable.h"

namespace dilute::experiment {

/// Every option of `dilute study` (and of the Study view's form), in display order.
const std::vector<OptionSpec<StudyOptions>>& studyOptionTable();
/// Every option of `dilute demo` (a CLI command: the workbench opens the folder it writes).
const std::vector<OptionSpec<DemoOptions>>& demoOptionTable();

}  // namespace dilute::experiment
