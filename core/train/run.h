#pragma once
// The training run's phases, shared by the files that implement them (private to core/train):
// trainer.cpp (the order of the phases and the public entry points), run_setup.cpp (options,
// process group, run folder, model, data, optimizer, resume state), run_epoch.cpp (the epoch
// loop, the optimizer step, evaluation, checkpoints, the end of the run).
#include <torch/torch.h>
#include <torch/version.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include "analysis/results.h"
#include "data/loader.h"
#include "data/transforms.h"
#include "dist/group.h"
#include "io/checkpoint.h"
#include "io/weights.h"
#include "model/preset.h"
#include "train/evaluate.h"
#include "train/gradsync.h"
#include "train/metrics.h"
#include "train/selection.h"
#include "train/stepmath.h"
#include "train/trainer.h"
#include "util/durable.h"
#include "util/error.h"
#include "util/files.h"
#include "util/runtime.h"

namespace dilute::train::detail {
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

class Run {
public:
    Run(TrainOptions o, bool resuming, const TrainObserver& obs, const CancelToken* cancel,
        std::shared_ptr<dist::Group> group)
        : o_(std::move(o)), resuming_(resuming), obs_(obs), cancel_(cancel), group_(std::move(group)) {}
    TrainSummary go();
    /// The last event of metrics.jsonl: how the run ended (rank 0; a follower stops there).
    void end(const std::string& status, const std::string& message = {}) {
        if (ended_) return;
        ended_ = true;
        if (metrics_)
            metrics_->write(
                json{{"event", "end"}, {"status", status}, {"step", step_}, {"time", utcNowIso()}, {"message", message}}
                    .dump());
    }

private:
    bool main() const { return group_->isMain(); }
    int world() const { return group_->world(); }
    void log(const std::string& s) {
        if (!main()) return;
        if (obs_.log) obs_.log(s);
        if (metrics_)
            metrics_->write(json{{"event", "log"}, {"step", step_}, {"time", utcNowIso()}, {"message", s}}.dump());
    }
    /// One checkpoint set with the optimizer state, pointed at by "last" (and "best" when `best`).
    void save(int epoch, bool best = false) {
        if (!main()) return;
        std::vector<std::string> pointers{"last"};
        if (best) pointers.push_back("best");
        io::saveCheckpoint(ckdir_, pointers, *model_, opt_.get(), state(epoch));
    }
    /// The parameters that take part in this step: all but the attention of fully diluted blocks
    /// (which is not computed, so has no gradient). The same list on every rank.
    std::vector<torch::Tensor> activeParameters() const {
        std::vector<const void*> skipped;
        for (int b : sel_.blocks) {
            auto blk = model_->block(b);
            if (blk->mode() == model::BlockMode::Diluted && blk->lambda() == 0.0) {
                for (const auto& p : blk->norm1->parameters()) skipped.push_back(p.unsafeGetTensorImpl());
                for (const auto& p : blk->attn->parameters()) skipped.push_back(p.unsafeGetTensorImpl());
            }
        }
        std::vector<torch::Tensor> out;
        for (const auto& p : model_->parameters())
            if (std::find(skipped.begin(), skipped.end(), p.unsafeGetTensorImpl()) == skipped.end()) out.push_back(p);
        return out;
    }
    void shareSelection();
    std::vector<double> lambdas() const {
        std::vector<double> l;
        for (int b : sel_.blocks) l.push_back(model_->block(b)->lambda());
        return l;
    }
    bool allDiluted() const {
        for (int b : sel_.blocks)
            if (model_->block(b)->lambda() != 0.0) return false;
        return true;
    }
    void applyLambda() {
        const double lam = o_.schedule.lambdaAt(step_, spe_, o_.epochs);
        for (int b : sel_.blocks) model_->block(b)->setLambda(lam);
    }
    io::CheckpointState state(int epoch) const {
        io::CheckpointState st;
        st.epoch = epoch;
        st.step = step_;
        st.best_top1 = best_;
        st.blocks = sel_.blocks;
        st.selector = sel_.selector;
        st.lambdas = lambdas();
        return st;
    }
    void buildOptimizer();

    // The phases of go(), in order.
    void setUp();                                 // options, device, process group, run folder, model
    void placeProcess();                          // this process's GPU, then its process group
    void openModel();                             // the model, moved to the data's classes (and --img-size)
    io::CheckpointState openRunState();           // resume: the checkpoint's state; fresh: selection + config.json
    void openData();                              // datasets, loaders, free-space check
    void restore(const io::CheckpointState& st);  // schedule lengths; resume: weights, optimizer, step
    struct EpochTrained {
        double loss_sum = 0, seconds = 0;
        long long loss_n = 0, images = 0;
        Clock::time_point start;
    };
    EpochTrained trainEpoch(int epoch);
    /// One optimizer step on `batch`; false when the step was skipped (no image in the whole
    /// global batch). Sets `stop` when the processes agreed to stop after it.
    bool trainStep(int epoch, data::Batch& batch, EpochTrained& acc, Clock::time_point& tStep, bool& stop);
    void reportStep(int epoch, double lv, double lr, long long stepImages, double dt);  // observer + metrics.jsonl
    void evaluateEpoch(int epoch, const EpochTrained& trained);
    TrainSummary finish(Clock::time_point t0);
    [[noreturn]] void stopHere(int epoch);
    [[noreturn]] void nonFiniteLoss(double v, int epoch);
    void reportSkips();

    TrainOptions o_;
    std::vector<std::string> adapted_;  // what openModel changed (new head, resolution): logged, in config.json
    bool resuming_;
    const TrainObserver& obs_;
    const CancelToken* cancel_;
    std::shared_ptr<dist::Group> group_;
    std::string device_, ckdir_;
    model::VisionTransformer model_{nullptr};
    std::unique_ptr<torch::optim::AdamW> opt_;
    std::unique_ptr<MetricsLog> metrics_;
    analysis::Selection sel_;
    long long step_ = 0, spe_ = 0;
    double best_ = -1;
    bool ended_ = false;
    // Set up by the phases.
    std::string uri_, amp_, metricsPath_;
    data::DatasetPtr trainSet_, testSet_;
    std::unique_ptr<data::Loader> trainLoader_, testLoader_;
    long long total_ = 0, warmup_ = 0;
    int startEpoch_ = 0;
    double resumedLossSum_ = 0;  // the resumed epoch's training loss before the stop
    long long resumedLossN_ = 0;
    LossScaler scaler_;
    std::unique_ptr<GradSync> sync_;
    std::unique_ptr<RunLock> lock_;  // rank 0: held while this process writes the run folder
    double syncSeconds_ = 0;
    TrainSummary sum_;
};

}  // namespace dilute::train::detail
