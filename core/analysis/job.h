#pragma once
// The analysis job: calibration set -> entropy profile -> transfer entropy -> selection.
// One options struct, filled by the CLI and the GUI alike.
#include <functional>
#include <string>

#include "analysis/options.h"
#include "analysis/results.h"
#include "model/vit.h"
#include "util/cancel.h"

namespace dilute::analysis {

/// Runs on an already-open model (the GUI keeps its model); `opts.model` is only recorded.
AnalysisResult runAnalysis(model::VisionTransformerImpl& m, const AnalysisOptions& opts,
                           const AnalysisObserver& obs = {}, const CancelToken* cancel = nullptr);
/// Opens opts.model and runs; with opts.out_dir, writes it there (writeAnalysis), checked
/// writable before the work starts.
AnalysisResult runAnalysis(const AnalysisOptions& opts, const AnalysisObserver& obs = {},
                           const CancelToken* cancel = nullptr);

/// Writes DIR/analysis.json and CSV tables (entropy.csv, heads.csv, transfer.csv, pairwise.csv,
/// trace.csv), each atomically.
void writeAnalysis(const std::string& dir, const AnalysisResult& r);
std::string analysisToJson(const AnalysisResult& r);
/// Reads analysis.json (a file or the folder holding it).
AnalysisResult readAnalysis(const std::string& pathOrDir);

using AnalysisJob = Job<AnalysisOptions, AnalysisResult>;
const AnalysisJob& analysisJob();

}  // namespace dilute::analysis
