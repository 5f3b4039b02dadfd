// dilute study: the selectors side by side on one trained model (T(S), zero-shot top-1,
// optionally dilution fine-tuning), and the exhaustive sweep over every K-subset. The job is
// core's (experiment/study.h), run by the CLI's generic adapter (cli/jobcommand.h); its summary
// is study.md's text.
#include <iostream>

#include "cli/commands.h"
#include "experiment/study.h"

namespace dilute::cli {

void printStudy(const experiment::StudyResult& r) { std::cout << experiment::studyMarkdown(r); }

}  // namespace dilute::cli
