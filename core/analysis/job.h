#pragma once
// The analysis job: calibration set -> entropy profile -> transfer entropy -> selection.
// One options struct, filled by the CLI and the GUI alike.
#include <functional>
#include <string>

#include "analysis/results.h"
#include "model/vit.h"
#include "util/cancel.h"

namespace dilute::analysis {

struct AnalysisOptions {
    std::string model;              // preset or safetensors file (used by runAnalysis(opts) only)
    std::string arch;               // preset for timm files without metadata
    std::string data;               // dataset URI ("" = the preset's default)
    std::string split = "train";
    int calib = 2048;               // calibration images: the first N of the split
    int batch = 256;
    int k = -1;                     // blocks to select (-1: a third of the depth, 0: none)
    std::string selector = "nose";  // nose | nose-abs | random | lowest | first
    bool pairwise = false;          // also the pairwise matrix T({i,j})
    std::string output = "cls";     // output entropy on the CLS feature or on the logits
    bool naive = false;             // reference loop without prefix caching
    uint64_t seed = 0;              // random selector
    std::string device = "auto";
    int workers = 2;
};

struct AnalysisObserver {
    std::function<void(const Progress&)> progress;  // phase: calibration | profile | transfer | select | pairwise
    std::function<void(const std::string&)> log;
};

/// Runs on an already-open model (the GUI keeps its model); `opts.model` is only recorded.
AnalysisResult runAnalysis(model::VisionTransformerImpl& m, const AnalysisOptions& opts,
                           const AnalysisObserver& obs = {}, const CancelToken* cancel = nullptr);
/// Opens opts.model and runs.
AnalysisResult runAnalysis(const AnalysisOptions& opts, const AnalysisObserver& obs = {},
                           const CancelToken* cancel = nullptr);

/// Writes DIR/analysis.json and CSV tables (entropy.csv, heads.csv, transfer.csv, pairwise.csv,
/// trace.csv), each atomically.
void writeAnalysis(const std::string& dir, const AnalysisResult& r);
std::string analysisToJson(const AnalysisResult& r);
/// Reads analysis.json (a file or the folder holding it).
AnalysisResult readAnalysis(const std::string& pathOrDir);

}  // namespace dilute::analysis
