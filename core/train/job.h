#pragma once
// Training as jobs of the one shape (util/job.h): a new run (train/optiontable.h) and the
// continuation of a run folder. The observer streams steps and epochs besides progress and log.
#include <string>
#include <vector>

#include "train/events.h"
#include "train/options.h"
#include "util/job.h"

namespace dilute::train {

/// A run folder to continue from its last checkpoint (`dilute train --resume`).
struct ResumeOptions {
    std::string run_dir;
    long long stop_at_step = -1;  // stop (checkpoint written) after this global step; -1: run to the end
};
const std::vector<::dilute::OptionSpec<ResumeOptions>>& resumeOptionTable();

/// What the run ended with, as JSON.
std::string summaryToJson(const TrainSummary& s);

using TrainJob = Job<TrainOptions, TrainSummary, TrainObserver>;
const TrainJob& trainJob();
using ResumeJob = Job<ResumeOptions, TrainSummary, TrainObserver>;
const ResumeJob& resumeJob();

}  // namespace dilute::train
