// dilute demo: the whole method end to end on the embedded Fashion-MNIST.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "experiment/demo.h"
#include "experiment/optiontable.h"
#include "util/files.h"

namespace dilute::cli {

Runner addDemo(CLI::App& app, Common&) {
    auto o = std::make_shared<experiment::DemoOptions>();
    bindOptions(app, experiment::demoOptionTable(), *o);
    auto printConfig = addPrintConfig(app);
    return [o, printConfig]() {
        if (*printConfig) {
            std::printf("%s\n", optionsJson(experiment::demoOptionTable(), *o).c_str());
            return 0;
        }
        std::unique_ptr<ProgressBar> bar;
        std::string label;
        experiment::DemoObserver obs;
        obs.onStage = [&](const std::string& s) {
            bar.reset();
            std::fprintf(stderr, "== %s\n", s.c_str());
        };
        obs.train.onStep = [&](const train::StepEvent& e) {
            const std::string l = "train epoch " + std::to_string(e.epoch + 1);
            if (!bar || l != label) {
                bar = std::make_unique<ProgressBar>(l);
                label = l;
            }
            char extra[96];
            std::snprintf(extra, sizeof extra, "loss %.3f%s", e.loss,
                          e.lambdas.empty() ? "" : (" lambda " + std::to_string(e.lambdas[0]).substr(0, 5)).c_str());
            const long long spe = e.steps_total / std::max(1, e.epochs);
            bar->update(e.step - spe * e.epoch, spe, extra);
        };
        obs.train.onEpoch = [&](const train::EpochEvent& e) {
            bar.reset();
            label.clear();
            std::fprintf(stderr, "   epoch %d: train loss %.4f, test top-1 %.2f%%%s\n", e.epoch + 1, e.train_loss,
                         e.test_top1, e.lambdas.empty() ? "" : (", lambda " + std::to_string(e.lambdas[0])).c_str());
        };
        obs.train.progress = [&](const Progress& p) {
            if (p.phase == "eval") return;
            if (!bar || label != p.phase) {
                bar = std::make_unique<ProgressBar>(p.phase);
                label = p.phase;
            }
            bar->update(p.done, p.total);
        };
        // What is about to happen and for how long (measured on a 2-core machine: the full demo
        // 7.9 minutes, --quick 0.7; README "Demo").
        std::fprintf(stderr,
                     "dilute demo: train %s on %s from scratch, measure its entropy and pick the attention layers "
                     "to drop (NOSE), fine-tune with dilution (and a control without), export the pruned model and "
                     "measure both.\nAbout %s on 2 CPU cores; everything goes to %s/.\n",
                     o->preset.c_str(), o->data.c_str(), o->quick ? "a minute" : "8 minutes", o->out_dir.c_str());
        auto r = experiment::runDemo(*o, obs, &interruptToken());
        bar.reset();
        std::printf("\n%s\nreport: %s\n", experiment::demoReport(*o, r).c_str(), r.report_path.c_str());
        std::printf("open it in the workbench (model, analysis, runs):\n  dilute-workbench %s\n", o->out_dir.c_str());
        return 0;
    };
}

}  // namespace dilute::cli
