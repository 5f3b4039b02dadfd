// dilute train: from scratch, or fine-tuning with dilution; --resume continues a run folder.
#include <cstdio>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "dist/env.h"
#include "dist/launch.h"
#include "model/preset.h"
#include "train/optiontable.h"
#include "train/trainer.h"
#include "util/files.h"

namespace dilute::cli {

void bindTrainOptions(CLI::App& app, train::TrainOptions& o) {
    // Generated from the one option table the workbench's form is generated from as well.
    bindOptions(app, train::trainOptionTable(), o);
}

namespace {
// `--nproc N`: this command line started again N times under the local launcher.
int launchLocal(int nproc, const Common& common) {
    const auto launch = dist::detectLaunch();
    if (launch.distributed())
        throw Error("--nproc " + std::to_string(nproc) + " inside a launch that already has " +
                    std::to_string(launch.world) + " processes (" + launch.source + "): use one or the other");
    dist::LocalLaunch l;
    l.nproc = nproc;
    l.argv = dist::withoutOption(common.argv, "--nproc");
    l.argv[0] = fs::selfExecutable();
    if (common.threads == 0) {  // share the cores out, as torchrun's OMP_NUM_THREADS does
        l.argv.push_back("--threads");
        l.argv.push_back(std::to_string(std::max(1, int(std::thread::hardware_concurrency()) / nproc)));
    }
    return dist::runLocal(l);
}

// A progress bar per epoch on stderr, and one line per epoch and per log message.
class TrainProgress {
public:
    train::TrainObserver observer() {
        train::TrainObserver obs;
        obs.log = [this](const std::string& s) {
            bar_.reset();
            std::fprintf(stderr, "%s\n", s.c_str());
        };
        obs.onStep = [this](const train::StepEvent& e) { step(e); };
        obs.onEpoch = [this](const train::EpochEvent& e) { epoch(e); };
        return obs;
    }

private:
    void step(const train::StepEvent& e) {
        if (e.epoch != barEpoch_ || !bar_) {
            bar_ =
                std::make_unique<ProgressBar>("epoch " + std::to_string(e.epoch + 1) + "/" + std::to_string(e.epochs));
            barEpoch_ = e.epoch;
        }
        const long long spe = e.steps_total / std::max(1, e.epochs);
        char extra[160];
        int n = std::snprintf(extra, sizeof extra, "loss %.4f lr %.2e %.0f img/s", e.loss, e.lr, e.images_per_s);
        if (!e.lambdas.empty() && n > 0) std::snprintf(extra + n, sizeof extra - n, " lambda %.3f", e.lambdas[0]);
        bar_->update(e.step - spe * e.epoch, spe, extra);
    }

    void epoch(const train::EpochEvent& e) {
        if (bar_) bar_->finish();
        bar_.reset();
        std::fprintf(
            stderr, "epoch %d: train loss %.4f | test top-1 %.2f%% top-5 %.2f%% loss %.4f | %.0f img/s, %.0f s%s%s\n",
            e.epoch + 1, e.train_loss, e.test_top1, e.test_top5, e.test_loss, e.images_per_s, e.seconds,
            e.lambdas.empty() ? "" : (" | lambda " + std::to_string(e.lambdas[0])).c_str(), e.best ? " (best)" : "");
    }

    std::unique_ptr<ProgressBar> bar_;
    int barEpoch_ = -1;
};

void printSummary(const train::TrainSummary& s) {
    std::printf("run        %s\nsteps      %lld in %s\ntest top-1 %.2f%% (top-5 %.2f%%)\n", s.run_dir.c_str(), s.steps,
                formatDuration(s.seconds).c_str(), s.final_top1, s.final_top5);
    if (s.blocks.empty()) return;
    std::printf("diluted    ");
    for (int b : s.blocks) std::printf("%d ", b);
    std::printf("(%s)\n", s.selector.c_str());
}

// One process's training (or its share of a launch); rank 0 reports for the job.
int trainHere(const train::TrainOptions& o, const std::string& resumeDir, const train::Recipe& recipe) {
    const bool mainRank = dist::detectLaunch().rank == 0;
    if (mainRank && resumeDir.empty() && !recipe.name.empty() && recipe.name != "none")
        std::fprintf(stderr, "recipe %s: %s (lr %.3g at global batch %d)\n", recipe.name.c_str(), recipe.source.c_str(),
                     o.lr, o.batch * std::max(1, dist::detectLaunch().world));
    TrainProgress progress;
    const auto obs = progress.observer();
    train::TrainSummary s;
    try {
        if (!resumeDir.empty()) {
            s = train::resume(resumeDir, obs, &interruptToken(), nullptr, o.stop_at_step);
        } else {
            if (o.model.empty()) throw Error("--model is required (or --resume RUN_DIR)");
            if (o.out_dir.empty()) throw Error("--out RUN_DIR is required");
            s = train::train(o, obs, &interruptToken());
        }
    } catch (const Cancelled&) {
        if (o.stop_at_step < 0 || interruptToken().cancelled()) throw;
        if (mainRank)
            std::fprintf(stderr, "stopped after step %lld as asked (--stop-at-step); continue with --resume %s\n",
                         o.stop_at_step, resumeDir.empty() ? o.out_dir.c_str() : resumeDir.c_str());
        return 0;
    }
    if (mainRank) printSummary(s);
    return 0;
}

}  // namespace

Runner addTrain(CLI::App& app, Common& common) {
    auto o = std::make_shared<train::TrainOptions>();
    auto resumeDir = std::make_shared<std::string>();
    auto nproc = std::make_shared<int>(1);
    // `--config FILE` before CLI11 parses: the file fills the options, the command line overrides.
    auto config = std::make_shared<std::string>(configArg(common.argv, "train"));
    auto configError = std::make_shared<std::string>();
    if (!config->empty()) {
        try {
            *o = train::TrainOptions::fromJson(fs::readText(*config), *config);
        } catch (const std::exception& e) {
            *configError = e.what();  // names the file (and the key)
        }
    }
    bindTrainOptions(app, *o);
    app.add_option("--resume", *resumeDir, "Continue RUN_DIR from its last checkpoint (with any number of processes)");
    app.add_option("--config", *config, "Options from a JSON file (a run's config.json); the command line overrides");
    app.add_option("--nproc", *nproc,
                   "Train on N local processes (data-parallel over c10d/Gloo, like torchrun --standalone)")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    auto printConfig = std::make_shared<bool>(false);
    app.add_flag("--print-config", *printConfig,
                 "Print the options this run would use (after the preset recipe) as JSON and exit");
    auto recipe = std::make_shared<train::Recipe>();
    app.parse_complete_callback([o, &app, config, nproc, recipe]() {
        if (!config->empty()) return;  // the file's values stand for everything not given
        // The recipe for everything the user did not set (the workbench does the same), its lr
        // scaled to the global batch: --nproc, or the processes of a torchrun/SLURM launch.
        const int world = *nproc > 1 ? *nproc : std::max(1, dist::detectLaunch().world);
        *recipe = train::applyRecipe(
            *o, o->model,
            [&](const train::OptionSpec& s) {
                const auto comma = s.flags.find(',');
                return app.get_option(s.flags.substr(0, comma))->count() > 0;
            },
            world);
    });
    return [o, resumeDir, nproc, configError, printConfig, recipe, &common]() {
        if (!configError->empty()) throw Error(*configError);
        if (*printConfig) {
            std::printf("%s\n", o->toJson().c_str());
            return 0;
        }
        if (*nproc > 1) return launchLocal(*nproc, common);
        return trainHere(*o, *resumeDir, *recipe);
    };
}

}  // namespace dilute::cli
