#pragma once
// `dilute study`: is entropy selection any good for this model? For one trained model and K,
// the selectors side by side (NOSE, NOSE-abs, lowest attention entropy, first K, random over S
// seeds, and max-T, the worst choice by T, as a control): T(S), top-1 right after skipping the
// attention of S (no training), and with finetune_epochs > 0 the top-1 after dilution
// fine-tuning (plus a control fine-tuned with nothing removed). With the exhaustive sweep, every
// K-subset's T(S) and zero-shot top-1, NOSE's rank among them, and the Spearman correlation of
// T(S) with zero-shot top-1. Plain values only (no LibTorch): the workbench includes this.
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/modelref.h"
#include "util/job.h"

namespace dilute::experiment {

// The model (a trained one: any source io::openModel reads, or a run folder; a preset has random
// weights) and how it is opened: io::ModelRef.
struct StudyOptions : io::ModelRef {
    std::string data;     // dataset URI ("" = the model's default)
    std::string out_dir;  // study.json, study.md, CSV; fine-tuning runs under finetune/
    int k = -1;           // blocks to select (-1: a third of the depth)
    int seeds = 5;        // random selections (seeds seed .. seed + seeds - 1)
    uint64_t seed = 0;    // first random seed; also the fine-tuning seed of every arm
    // Calibration (T(S)): the train split, as `dilute analyze` takes it
    int calib = 2048;
    std::string calib_order = "stratified";
    uint64_t calib_seed = 0;
    std::string output = "cls";  // H_out on the CLS feature or the logits
    // Zero-shot accuracy
    std::string eval_split = "test";
    int eval_images = 0;              // 0: the whole split; fewer: a class-stratified sample (seed 0)
    std::string exhaustive = "auto";  // auto (when C(L,K) <= exhaustive_limit) | on | off
    int exhaustive_limit = 1000;
    long long max_subsets = 0;  // largest sweep --exhaustive on runs (0: 100,000 subsets or an hour's estimate)
    // Fine-tuning arms (0 = none)
    int finetune_epochs = 0;
    int finetune_batch = 128;
    size_t finetune_train_limit = 0;  // first N training images per epoch (0 = all)
    // System
    int batch = 256;
    std::string device = "auto";
    int workers = 2;
    bool overwrite = false;  // replace an earlier study in out_dir
};

/// One selector's choice and what it does.
struct StudyArm {
    std::string selector;     // nose | nose-abs | lowest | first | random | max-t | min-t | oracle | control
    uint64_t seed = 0;        // random: its seed
    std::vector<int> blocks;  // in the order chosen
    double t = NAN;           // T(S) on the calibration set
    double zero_shot = NAN;   // top-1 (%) with the attention of S skipped, no training
    double finetuned = NAN;   // top-1 (%) after dilution fine-tuning (NaN: not fine-tuned)
    long long rank = 0;       // among all K-subsets by zero-shot top-1 (1 = best; 0 = no sweep)
    double percentile = NAN;  // 100: best subset, 0: worst
    std::string run_dir;      // the fine-tuning run
};

struct StudySubset {
    std::vector<int> blocks;
    double t = 0, zero_shot = 0;
};

/// One row per selector name: the mean and spread over its arms (random: over seeds).
struct StudySummary {
    std::string selector;
    int arms = 0;
    double t_mean = NAN, zero_shot_mean = NAN, zero_shot_sd = NAN, finetuned_mean = NAN, finetuned_sd = NAN;
    double zero_shot_min = NAN, zero_shot_max = NAN, finetuned_min = NAN, finetuned_max = NAN;
};

struct StudyResult {
    std::string model, data, device;
    int depth = 0, k = 0;
    int calib = 0;
    std::string calib_order;
    uint64_t calib_seed = 0;
    std::string output;
    std::string eval_split;
    long long eval_images = 0;
    double h_full = NAN;     // H_out of the full model (nats)
    double full_top1 = NAN;  // top-1 of the full model, nothing skipped
    std::vector<StudyArm> arms;
    // Exhaustive sweep (empty when not run)
    std::vector<StudySubset> subsets;
    long long subsets_total = 0;   // C(L', K) over the blocks with attention
    double spearman_t_top1 = NAN;  // over all subsets: T(S) vs zero-shot top-1
    double random_expected = NAN;  // mean zero-shot top-1 over all subsets (random's expectation)
    // Fine-tuning
    int finetune_epochs = 0;
    double control_finetuned = NAN;  // the same fine-tuning with no block removed
    double seconds = 0;
    std::vector<std::string> notes;  // what the study could not do and why (e.g. sweep skipped)
};

std::vector<StudySummary> summarize(const StudyResult& r);

/// Progress (calibration | evaluation | select | sweep | finetune), log lines, and the result so
/// far after each phase (arms, then the sweep, then each fine-tuned arm).
using StudyObserver = JobObserver<StudyResult>;

/// Runs the study; writes OUT/study.json, study.md, arms.csv, subsets.csv when out_dir is set
/// (also after each fine-tuned arm, so an interrupted study keeps what it measured).
StudyResult runStudy(const StudyOptions& o, const StudyObserver& obs = {}, const CancelToken* cancel = nullptr);

void writeStudy(const std::string& dir, const StudyResult& r);
std::string studyToJson(const StudyResult& r);
std::string studyMarkdown(const StudyResult& r);
/// Reads study.json (a file or the folder holding it). Throws dilute::Error naming the file.
StudyResult readStudy(const std::string& pathOrDir);

using StudyJob = Job<StudyOptions, StudyResult>;
const StudyJob& studyJob();

}  // namespace dilute::experiment
