// The JSON files Dilute reads back: config.json (train --config / --resume), analysis.json
// (--select FILE), checkpoints/last.json (manifest) and metrics.jsonl lines. The first byte picks
// the reader; the rest is the file.
#include <sstream>

#include "analysis/job.h"
#include "fuzz_common.h"
#include "io/checkpoint.h"
#include "train/metrics.h"
#include "train/options.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const int which = data[0] % 4;
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        switch (which) {
            case 0: {
                auto o = dilute::train::TrainOptions::fromJson(text);
                o.validate();
                (void)o.toJson();
                break;
            }
            case 1: {
                const auto p = dilute::fuzz::writeFile("analysis.json", data + 1, size - 1);
                (void)dilute::analysis::readAnalysis(p);
                break;
            }
            case 2: {
                const auto dir = dilute::fuzz::freshDir("ck");
                FILE* f = std::fopen((dir + "/last.json").c_str(), "wb");
                std::fwrite(text.data(), 1, text.size(), f);
                std::fclose(f);
                auto st = dilute::io::readCheckpointState(dir, "last");
                dilute::io::checkStateFitsRun(st, dir + "/last.json", 10, 100, 12);
                (void)dilute::io::checkpointWeights(dir, "last");
                dilute::io::cleanCheckpoints(dir);
                break;
            }
            default: {
                std::istringstream in(text);
                std::string line;
                while (std::getline(in, line)) (void)dilute::train::parseMetricsLine(line);
            }
        }
    } catch (const dilute::Error&) {}
    return 0;
}
