#pragma once
// The study's run, phase by phase (private to core/experiment): study.cpp opens the model and
// the data and measures the full model; study_arms.cpp runs the selectors, the exhaustive
// sweep and the fine-tuning arms. Each phase adds to the result and shows it (partial()).
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "analysis/profile.h"
#include "analysis/selectors.h"
#include "analysis/sweep.h"
#include "analysis/transfer.h"
#include "experiment/study.h"
#include "model/vit.h"
#include "train/options.h"

namespace dilute::experiment::detail {

std::string blockList(const std::vector<int>& b);
std::string fixed(double v, int digits);
std::vector<int> sorted(std::vector<int> b);
double mean(const std::vector<double>& v);

class StudyRun {
public:
    StudyRun(const StudyOptions& o, const StudyObserver& obs, const CancelToken* cancel)
        : o_(o), obs_(obs), cancel_(cancel), t0_(std::chrono::steady_clock::now()) {}
    StudyResult run();

private:
    void open();         // the model on its device, the result's header
    void loadData();     // calibration images (T(S)) and the labelled evaluation set (zero-shot top-1)
    void measureFull();  // H_out and top-1 of the full model, the candidates, K
    void runSelectors();
    void addArm(const std::string& name, uint64_t seed, const analysis::Selection& s);
    void runSweep();
    void checkSweepSize() const;
    void runFinetuning();
    train::TrainOptions finetuneOptions(const std::string& name, const std::string& select) const;
    void log(const std::string& s) const {
        if (obs_.log) obs_.log(s);
    }
    std::function<void(long long, long long)> progress(const char* phase) const;
    void partial();  // the time so far, shown and written with what is done

    const StudyOptions& o_;
    const StudyObserver& obs_;
    const CancelToken* cancel_;
    std::chrono::steady_clock::time_point t0_;
    std::string weights_, device_;
    model::VisionTransformer m_{nullptr};
    StudyResult r_;
    std::vector<torch::Tensor> calib_;
    analysis::LabeledSet eval_;
    std::unique_ptr<analysis::TransferEntropy> te_;
    analysis::EntropyProfile profile_;
    std::vector<int> cand_;
    double armSeconds_ = 0;  // the mean time of one selector arm's T(S) and zero-shot top-1: a subset's cost
};

}  // namespace dilute::experiment::detail
