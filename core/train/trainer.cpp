#include "train/trainer.h"

#include "train/run.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::train {

namespace detail {

TrainSummary Run::go() {
    const auto t0 = Clock::now();
    setUp();
    const auto st = openRunState();
    openData();
    buildOptimizer();
    restore(st);
    for (int epoch = startEpoch_; epoch < o_.epochs; ++epoch) evaluateEpoch(epoch, trainEpoch(epoch));
    return finish(t0);
}

}  // namespace detail

namespace {

using detail::Run;

TrainSummary runToEnd(Run& r) {
    try {
        return r.go();
    } catch (const Cancelled&) {
        r.end("cancelled");
        throw;
    } catch (const std::exception& e) {
        r.end("failed", e.what());  // no-op when already written (non-finite loss) or not rank 0
        throw;
    }
}

}  // namespace

TrainSummary train(const TrainOptions& opts, const TrainObserver& obs, const CancelToken* cancel,
                   std::shared_ptr<dist::Group> group) {
    Run r(opts, false, obs, cancel, std::move(group));
    return runToEnd(r);
}

TrainSummary resume(const std::string& runDir, const TrainObserver& obs, const CancelToken* cancel,
                    std::shared_ptr<dist::Group> group, long long stopAtStep) {
    const std::string cfg = fs::join(runDir, "config.json");
    if (!fs::exists(cfg)) throw Error(cfg + ": not a run folder (no config.json)");
    auto o = TrainOptions::fromJson(fs::readText(cfg), cfg);
    o.out_dir = runDir;
    o.stop_at_step = stopAtStep;
    Run r(o, true, obs, cancel, std::move(group));
    return runToEnd(r);
}

}  // namespace dilute::train
