#include "experiment/study.h"

#include "experiment/optiontable.h"
#include "experiment/studyrun.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>

#include "analysis/profile.h"
#include "analysis/selectors.h"
#include "analysis/sweep.h"
#include "analysis/transfer.h"
#include "data/loader.h"
#include "io/export.h"
#include "io/weights.h"
#include "model/preset.h"
#include "train/optiontable.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/files.h"
#include "util/runtime.h"

namespace dilute::experiment {

namespace detail {

std::string blockList(const std::vector<int>& b) {
    std::string s;
    for (int i : b) s += (s.empty() ? "" : ",") + std::to_string(i);
    return s;
}

std::string fixed(double v, int digits) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", digits, v);
    return b;
}

std::vector<int> sorted(std::vector<int> b) {
    std::sort(b.begin(), b.end());
    return b;
}

double mean(const std::vector<double>& v) {
    return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
std::function<void(long long, long long)> StudyRun::progress(const char* phase) const {
    return [this, phase](long long d, long long t) {
        if (obs_.progress) obs_.progress({phase, d, t});
    };
}

void StudyRun::partial() {
    r_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    if (obs_.partial) obs_.partial(r_);
    if (!o_.out_dir.empty()) writeStudy(o_.out_dir, r_);
}

StudyResult StudyRun::run() {
    open();
    loadData();
    measureFull();
    runSelectors();
    partial();
    runSweep();
    partial();
    if (o_.finetune_epochs > 0) runFinetuning();
    r_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    if (!o_.out_dir.empty()) writeStudy(o_.out_dir, r_);
    return r_;
}

void StudyRun::open() {
    if (!o_.out_dir.empty()) {
        fs::ensureWritableDir(o_.out_dir);  // fail before the work, not after
        if (fs::exists(fs::join(o_.out_dir, "study.json")) && !o_.overwrite)
            throw Error(o_.out_dir + " already holds a study (study.json); choose another folder or pass --overwrite");
    }
    weights_ = model::isPreset(o_.model) ? o_.model : io::weightsOf(o_.model);
    m_ = io::openModel(weights_, io::openOptionsOf(o_));
    device_ = resolveDevice(o_.device);
    m_->to(torch::Device(device_));
    m_->eval();
    r_.model = o_.model;
    r_.device = device_;
    r_.depth = m_->depth();
    r_.data = o_.data.empty() ? m_->config().default_data : o_.data;
    if (r_.data.empty())
        throw Error("model '" + m_->config().name + "' has no default dataset: choose one with --data");
    r_.calib_order = o_.calib_order;
    r_.calib_seed = o_.calib_seed;
    r_.output = o_.output;
    r_.eval_split = o_.eval_split;
    r_.finetune_epochs = o_.finetune_epochs;
}

void StudyRun::loadData() {
    if (obs_.progress) obs_.progress({"calibration", 0, 1});
    data::SkipReport skipped;
    calib_ = analysis::loadCalibration(m_->config(), r_.data, "train", o_.calib, o_.batch, o_.workers, device_, cancel_,
                                       &skipped, o_.calib_order, o_.calib_seed);
    for (const auto& b : calib_) r_.calib += static_cast<int>(b.size(0));
    if (skipped.count) log(skipped.message("calibration images"));
    if (obs_.progress) obs_.progress({"evaluation", 0, 1});
    std::string evalSkipped;
    eval_ = analysis::loadLabeled(m_->config(), r_.data, o_.eval_split, static_cast<size_t>(o_.eval_images), 0,
                                  o_.batch, o_.workers, device_, cancel_, &evalSkipped);
    if (!evalSkipped.empty()) log(evalSkipped);
    r_.eval_images = eval_.size();
    log("calibration: " + std::to_string(r_.calib) + " images of " + r_.data + " train (" + o_.calib_order +
        "); zero-shot top-1 on " + std::to_string(r_.eval_images) + " " + o_.eval_split + " images");
}

void StudyRun::measureFull() {
    analysis::TransferOptions to;
    to.output = o_.output;
    analysis::ProfileAccumulator acc(*m_, o_.output);  // from the transfer entropy's first pass
    te_ = std::make_unique<analysis::TransferEntropy>(*m_, calib_, to, cancel_,
                                                      [&](const model::FeatureTaps& t) { acc.add(t); });
    profile_ = acc.finish();
    r_.h_full = te_->fullEntropy();
    r_.full_top1 = analysis::skippedTop1(*m_, eval_, {}, cancel_);
    log("full model: top-1 " + fixed(r_.full_top1, 2) + "%, H_out " + fixed(r_.h_full, 3) + " nats");
    cand_ = te_->candidates();
    r_.k = o_.k < 0 ? std::max(1, r_.depth / 3) : o_.k;
    if (r_.k > static_cast<int>(cand_.size()))
        throw Error("--k " + std::to_string(r_.k) + ": the model has only " + std::to_string(cand_.size()) +
                    " blocks with attention");
}

}  // namespace detail

namespace {

using detail::mean;

void validate(const StudyOptions& o) {
    if (o.model.empty()) throw Error("--model is required (a weights file or a run folder)");
    validateOptions(studyOptionTable(), o);  // every range and choice, from the one table
    if (o.k == 0) throw Error("--k 0: a study needs at least one block to select");
    if (o.finetune_epochs > 0 && o.out_dir.empty())
        throw Error("--finetune-epochs needs --out: the fine-tuning runs are written under OUT/finetune/");
    if (o.finetune_epochs > 0 && model::isPreset(o.model))
        throw Error("--finetune-epochs: '" + o.model +
                    "' is a preset (random weights); fine-tune a trained model: "
                    "a weights file or a run folder");
}

double sd(const std::vector<double>& v) {
    if (v.size() < 2) return v.empty() ? NAN : 0.0;
    const double m = mean(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size() - 1));
}

}  // namespace

std::vector<StudySummary> summarize(const StudyResult& r) {
    std::vector<StudySummary> out;
    for (const auto& a : r.arms) {
        auto it = std::find_if(out.begin(), out.end(), [&](const StudySummary& s) { return s.selector == a.selector; });
        if (it == out.end()) {
            out.push_back({});
            out.back().selector = a.selector;
        }
    }
    for (auto& s : out) {
        std::vector<double> t, z, f;
        for (const auto& a : r.arms) {
            if (a.selector != s.selector) continue;
            ++s.arms;
            if (std::isfinite(a.t)) t.push_back(a.t);
            if (std::isfinite(a.zero_shot)) z.push_back(a.zero_shot);
            if (std::isfinite(a.finetuned)) f.push_back(a.finetuned);
        }
        s.t_mean = mean(t);
        s.zero_shot_mean = mean(z);
        s.zero_shot_sd = sd(z);
        s.finetuned_mean = mean(f);
        s.finetuned_sd = sd(f);
        if (!z.empty()) {
            s.zero_shot_min = *std::min_element(z.begin(), z.end());
            s.zero_shot_max = *std::max_element(z.begin(), z.end());
        }
        if (!f.empty()) {
            s.finetuned_min = *std::min_element(f.begin(), f.end());
            s.finetuned_max = *std::max_element(f.begin(), f.end());
        }
    }
    return out;
}

StudyResult runStudy(const StudyOptions& o, const StudyObserver& obs, const CancelToken* cancel) {
    validate(o);
    auto r = detail::StudyRun(o, obs, cancel).run();
    if (!o.out_dir.empty() && obs.log)
        obs.log("wrote " + o.out_dir + "/study.json, study.md, arms.csv" + (r.subsets.empty() ? "" : ", subsets.csv"));
    return r;
}

const StudyJob& studyJob() {
    static const StudyJob job{
        "study",
        "Is entropy selection any good here? Every selector's T(S) and top-1, the exhaustive sweep, fine-tuned arms",
        studyOptionTable, runStudy, studyToJson};
    return job;
}

}  // namespace dilute::experiment
