#include "train/job.h"

#include <nlohmann/json.hpp>

#include "train/optiontable.h"
#include "train/trainer.h"

namespace dilute::train {

std::string summaryToJson(const TrainSummary& s) {
    const nlohmann::json j = {{"run", s.run_dir},
                              {"blocks", s.blocks},
                              {"selector", s.selector},
                              {"final_top1", s.final_top1},
                              {"final_top5", s.final_top5},
                              {"best_top1", s.best_top1 >= 0 ? nlohmann::json(s.best_top1) : nlohmann::json()},
                              {"steps", s.steps},
                              {"epochs_done", s.epochs_done},
                              {"seconds", s.seconds},
                              {"cancelled", s.cancelled},
                              {"skipped_train", s.skipped_train},
                              {"skipped_test", s.skipped_test}};
    return j.dump(2);
}

const TrainJob& trainJob() {
    static const TrainJob job{
        "train", "Train from scratch or fine-tune with dilution", trainOptionTable,
        [](const TrainOptions& o, const TrainObserver& obs, const CancelToken* c) { return train(o, obs, c); },
        summaryToJson};
    return job;
}

const ResumeJob& resumeJob() {
    static const ResumeJob job{"resume", "Continue a run folder from its last checkpoint", resumeOptionTable,
                               [](const ResumeOptions& o, const TrainObserver& obs, const CancelToken* c) {
                                   return resume(o.run_dir, obs, c, nullptr, o.stop_at_step);
                               },
                               summaryToJson};
    return job;
}

}  // namespace dilute::train
