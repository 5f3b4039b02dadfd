#include "train/selection.h"

#include <algorithm>

#include "analysis/job.h"
#include "analysis/selectors.h"
#include "util/blocklist.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::train {

analysis::Selection resolveSelection(model::VisionTransformerImpl& m, const SelectionRequest& req,
                                     const std::function<void(const Progress&)>& progress, const CancelToken* cancel) {
    analysis::Selection s;
    const std::string& spec = req.spec;
    if (spec.empty() || spec == "none") {
        s.selector = "none";
        return s;
    }
    const auto colon = spec.find(':');
    const std::string head = spec.substr(0, colon);
    const auto names = analysis::selectorNames();
    if (colon != std::string::npos && std::find(names.begin(), names.end(), head) != names.end()) {
        int k = 0;
        try {
            k = std::stoi(spec.substr(colon + 1));
        } catch (...) {
            throw Error("selection '" + spec + "': expected " + head + ":K with K a number");
        }
        analysis::AnalysisOptions o;
        o.data = req.data;
        o.calib = req.calib;
        o.k = k;
        o.selector = head;
        o.seed = req.seed;
        o.device = req.device;
        o.workers = req.workers;
        analysis::AnalysisObserver obs;
        obs.progress = progress;
        auto r = analysis::runAnalysis(m, o, obs, cancel);
        if (!req.save_dir.empty()) analysis::writeAnalysis(req.save_dir, r);
        return r.selection;
    }
    if (fs::exists(spec)) {
        auto r = analysis::readAnalysis(spec);
        if (r.profile.depth != m.depth())
            throw Error(spec + ": analysis is for a model of depth " + std::to_string(r.profile.depth) + ", not " +
                        std::to_string(m.depth()));
        return r.selection;
    }
    if (spec.find_first_not_of("0123456789, ") == std::string::npos) {
        s.selector = "manual";
        s.blocks = parseBlockList(spec, m.depth());
        return s;
    }
    throw Error("selection '" + spec +
                "': expected block indices (0,2,4), SELECTOR:K (nose, nose-abs, random, lowest, "
                "first) or an analysis.json file");
}

}  // namespace dilute::train
