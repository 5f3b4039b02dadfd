// dilute study: the selectors side by side on one trained model (T(S), zero-shot top-1,
// optionally dilution fine-tuning), and the exhaustive sweep over every K-subset.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "experiment/optiontable.h"
#include "experiment/study.h"
#include "util/error.h"

namespace dilute::cli {

Runner addStudy(CLI::App& app, Common& common) {
    auto o = std::make_shared<experiment::StudyOptions>();
    bindOptions(app, experiment::studyOptionTable(), *o);
    app.add_flag("--json", common.json, "Print study.json");
    auto printConfig = addPrintConfig(app);
    return [o, printConfig, &common]() {
        if (*printConfig) {
            std::printf("%s\n", optionsJson(experiment::studyOptionTable(), *o).c_str());
            return 0;
        }
        PhaseProgress bar;
        experiment::StudyObserver obs;
        obs.progress = [&](const Progress& p) { bar.update(p); };
        obs.log = [&](const std::string& s) { bar.log(s); };
        auto r = experiment::runStudy(*o, obs, &interruptToken());
        bar.finish();
        if (!o->out_dir.empty())
            std::fprintf(stderr, "wrote %s/study.json, study.md, arms.csv%s\n", o->out_dir.c_str(),
                         r.subsets.empty() ? "" : ", subsets.csv");
        if (common.json)
            std::cout << experiment::studyToJson(r) << "\n";
        else
            std::cout << experiment::studyMarkdown(r);
        return 0;
    };
}

}  // namespace dilute::cli
