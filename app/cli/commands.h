#pragma once
// Each subcommand registers itself on the CLI11 app and runs when chosen.
#include <CLI/CLI.hpp>

#include "data/limits.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dilute {
namespace eval {
struct EvalJobResult;
}
namespace analysis {
struct AnalysisResult;
}
namespace inspect {
struct InspectResult;
}
namespace bench {
struct MeasureResult;
struct BenchJobResult;
}  // namespace bench
namespace io {
struct ExportResult;
struct ModelInfo;
}  // namespace io
namespace experiment {
struct StudyResult;
}
}  // namespace dilute

namespace dilute::cli {

/// Options shared by every subcommand.
struct Common {
    int threads = 0;
    uint64_t max_image_pixels = data::kDefaultMaxImagePixels;
    bool json = false;
    std::vector<std::string> argv;  // the whole command line (a launcher re-runs it per worker)
};

using Runner = std::function<int()>;
// Subcommands written by hand: training with its launchers, and the demo.
Runner addTrain(CLI::App& app, Common& common);
Runner addDemo(CLI::App& app, Common& common);

// The human summaries of the jobs the generic adapter runs (cli/jobcommand.h).
void printEval(const eval::EvalJobResult& r);
void printAnalysis(const analysis::AnalysisResult& r);
void printInspect(const inspect::InspectResult& r);
void printMeasure(const bench::MeasureResult& r);
void printExport(const io::ExportResult& r);
void printBench(const bench::BenchJobResult& r);
void printInfo(const io::ModelInfo& r);
void printStudy(const experiment::StudyResult& r);

}  // namespace dilute::cli
