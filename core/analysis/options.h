#pragma once
// Analysis options: one struct filled by the CLI and the GUI alike (no LibTorch here, so the
// GUI headers can use it).
#include <cstdint>
#include <functional>
#include <string>

#include "analysis/results.h"
#include "io/modelref.h"
#include "util/job.h"

namespace dilute::analysis {

// The model and how it is opened: io::ModelRef (used by runAnalysis(opts) only).
struct AnalysisOptions : io::ModelRef {
    std::string data;  // dataset URI ("" = the preset's default)
    std::string split = "train";
    int calib = 2048;                        // calibration images
    std::string calib_order = "stratified";  // stratified (seeded, every class alike) | first (file order)
    uint64_t calib_seed = 0;                 // the stratified sample
    int batch = 256;
    int k = -1;                     // blocks to select (-1: a third of the depth, 0: none)
    std::string selector = "nose";  // nose | nose-abs | random | lowest | first
    bool pairwise = false;          // also the pairwise matrix T({i,j})
    std::string output = "cls";     // output entropy on the CLS feature or on the logits
    bool naive = false;             // reference loop without prefix caching
    uint64_t seed = 0;              // random selector
    std::string device = "auto";
    int workers = 2;
    std::string out_dir;  // write analysis.json and the CSV tables here ("" = nowhere)
};

/// Progress (phase: calibration | profile | transfer | select | pairwise), log lines, and the
/// result so far after each phase: the profile, then T({i}), then each NOSE round, then (with
/// pairwise) the pairwise matrix. The views draw it as it comes.
using AnalysisObserver = JobObserver<AnalysisResult>;

}  // namespace dilute::analysis
