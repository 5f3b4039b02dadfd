#pragma once
// Each subcommand registers itself on the CLI11 app and runs when chosen.
#include <CLI/CLI.hpp>

#include "data/limits.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dilute::cli {

/// Options shared by every subcommand.
struct Common {
    int threads = 0;
    uint64_t max_image_pixels = data::kDefaultMaxImagePixels;
    bool json = false;
    std::vector<std::string> argv;  // the whole command line (a launcher re-runs it per worker)
};

using Runner = std::function<int()>;
Runner addInfo(CLI::App& app, Common& common);
Runner addEval(CLI::App& app, Common& common);
Runner addAnalyze(CLI::App& app, Common& common);
Runner addTrain(CLI::App& app, Common& common);
Runner addExport(CLI::App& app, Common& common);
Runner addBench(CLI::App& app, Common& common);
Runner addMeasure(CLI::App& app, Common& common);
Runner addStudy(CLI::App& app, Common& common);
Runner addInspect(CLI::App& app, Common& common);
Runner addDemo(CLI::App& app, Common& common);

}  // namespace dilute::cli
