#pragma once
// The one shape every job has: options (declared by its option table), a run function that
// reports to an observer and stops when a cancel token fires, and a result that writes itself as
// JSON. A job declares itself once, as a Job<...> in its own folder (e.g. eval/job.h: evalJob());
// the CLI (app/cli/jobcommand.h: addJob) and the workbench (widgets/jobrunner.h: JobRunner::start)
// are generic adapters over it. No LibTorch and no Qt here.
#include <functional>
#include <string>
#include <vector>

#include "util/cancel.h"
#include "util/optiontable.h"

namespace dilute {

/// What a running job reports: its phases' progress, log lines (notes and warnings, one line
/// each), and its result so far (Partial: the result type, or what the job streams instead).
template <class Partial>
struct JobObserver {
    std::function<void(const Progress&)> progress;
    std::function<void(const std::string&)> log;
    std::function<void(const Partial&)> partial;
};

/// A job, declared once. Observer is JobObserver<Result> unless the job streams more (training:
/// steps and epochs); every observer has `progress` and `log`.
template <class Options, class Result, class Observer = JobObserver<Result>>
struct Job {
    using OptionsType = Options;
    using ResultType = Result;
    using ObserverType = Observer;
    const char* name;     // the CLI subcommand
    const char* summary;  // one line: what it does (`dilute --help`)
    const std::vector<OptionSpec<Options>>& (*options)();
    Result (*run)(const Options&, const Observer&, const CancelToken*);
    std::string (*toJson)(const Result&);
};

}  // namespace dilute
