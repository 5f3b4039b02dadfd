// dilute: the headless CLI. Thin: parse options, wire callbacks, run the core.
#include <c10/util/Exception.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <thread>

#include "analysis/job.h"
#include "bench/benchjob.h"
#include "bench/measure.h"
#include "cli/commands.h"
#include "cli/jobcommand.h"
#include "cli/progress.h"
#include "data/limits.h"
#include "dist/env.h"
#include "eval/job.h"
#include "experiment/study.h"
#include "inspect/job.h"
#include "io/exportjob.h"
#include "io/info.h"
#include "util/error.h"
#include "util/runtime.h"

namespace {

// Every subcommand with the options all of them share.
void addCommands(CLI::App& app, dilute::cli::Common& common, std::map<CLI::App*, dilute::cli::Runner>& runners,
                 bool& verbose) {
    auto add = [&](const char* name, const char* help, auto adder) {
        auto* sub = app.add_subcommand(name, help);
        sub->add_option("--threads", common.threads, "CPU threads for LibTorch (0 = all cores; at most the cores)")
            ->capture_default_str()
            ->check(CLI::Range(0, 1 << 20));
        sub->add_option("--max-image-pixels", common.max_image_pixels,
                        "Skip (and report) images whose header promises more pixels than this")
            ->capture_default_str()
            ->check(CLI::Range(uint64_t(1), uint64_t(1) << 40));
        sub->add_flag("--verbose", verbose, "On an internal (LibTorch) error, print its full text and backtrace");
        runners[sub] = adder(*sub, common);
    };
    auto job = [&](const auto& j, auto print) {
        add(j.name, j.summary, [&j, print](CLI::App& a, dilute::cli::Common& c) { return addJob(a, c, j, print); });
    };
    // The registry: one line per subcommand.
    job(dilute::io::infoJob(), dilute::cli::printInfo);
    job(dilute::eval::evalJob(), dilute::cli::printEval);
    job(dilute::analysis::analysisJob(), dilute::cli::printAnalysis);
    job(dilute::inspect::inspectJob(), dilute::cli::printInspect);
    add("train", "Train from scratch or fine-tune with dilution", dilute::cli::addTrain);
    job(dilute::io::exportJob(), dilute::cli::printExport);
    job(dilute::bench::benchJob(), dilute::cli::printBench);
    job(dilute::bench::measureJob(), dilute::cli::printMeasure);
    job(dilute::experiment::studyJob(), dilute::cli::printStudy);
    add("demo", "The whole method end to end on Fashion-MNIST", dilute::cli::addDemo);
}

// Threads and image limits from the shared options, then the chosen subcommand.
int runCommand(CLI::App& app, dilute::cli::Common& common, std::map<CLI::App*, dilute::cli::Runner>& runners) {
    dilute::data::setMaxImagePixels(common.max_image_pixels);
    int threads = common.threads;
    if (threads == 0) {
        // Several processes on one machine (torchrun, --nproc): share the cores out.
        const auto li = dilute::dist::detectLaunch();
        if (li.local_world > 1) threads = std::max(1, int(std::thread::hardware_concurrency()) / li.local_world);
    }
    const int used = dilute::setThreads(threads);
    if (threads > used)
        std::cerr << "note: --threads " << threads << " is more than this machine's " << used << " cores; using "
                  << used << "\n";
    for (auto* sub : app.get_subcommands())
        if (runners.count(sub)) return runners[sub]();
    return 0;
}

// The last resort: an exception no handler took (a worker thread's, one thrown while another
// unwinds) still ends as one `error:` line and exit code 1, not an abort.
[[noreturn]] void onTerminate() {
    try {
        if (auto e = std::current_exception()) std::rethrow_exception(e);
        std::fputs("\nerror: internal error (terminate without an exception)\n", stderr);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "\nerror: %s\n", e.what());
    } catch (...) {
        std::fputs("\nerror: unknown internal error\n", stderr);
    }
    std::fflush(stderr);
    std::_Exit(1);
}

}  // namespace

// Exit codes: 0 done, 1 an error (one line `error: ...` on stderr), 130 interrupted (Ctrl-C,
// stopped cleanly); CLI11's own codes for a command line it cannot parse.
int main(int argc, char** argv) {
    std::set_terminate(onTerminate);
    CLI::App app{
        "Dilute: find the attention layers a Vision Transformer does not need, fade them out, "
        "and export the smaller model (Lin et al., CVPR 2024)."};
    app.require_subcommand(1);
    app.set_version_flag("--version", "dilute 0.1.0");
    dilute::cli::Common common;
    common.argv.assign(argv, argv + argc);
    std::map<CLI::App*, dilute::cli::Runner> runners;
    bool verbose = false;
    try {
        addCommands(app, common, runners, verbose);
        try {
            app.parse(argc, argv);  // option callbacks run here (train's reads the launch environment)
        } catch (const CLI::ParseError& e) {
            return app.exit(e);
        }
        // Training runs with sleeping OpenMP workers and threaded BLAS (util/runtime.h): re-executes
        // once with OMP_WAIT_POLICY=PASSIVE unless the environment chose a policy. `info` is light;
        // `analyze` and `export` only infer, on the CPU with the whole-block kernels
        // (model/kernels.h), one BLAS thread per core whatever the policy: the second start (about
        // 0.8 s of loading LibTorch again) would be all they gained. eval, bench and measure keep it:
        // their data loaders run beside the forward, where spinning workers would take their cores.
        bool light = false;
        for (auto* sub : app.get_subcommands())
            light = light || sub->get_name() == "info" || sub->get_name() == "analyze" || sub->get_name() == "export";
        if (!light) dilute::preferPassiveOpenMp(argv);
        dilute::cli::installInterruptHandler();
        return runCommand(app, common, runners);
    } catch (const dilute::Cancelled&) {
        std::cerr << "\ninterrupted: stopped cleanly\n";
        return 130;
    } catch (const c10::Error& e) {
        // Our own errors name the file and the problem; this is LibTorch's, which did not.
        std::cerr << "\nerror: internal LibTorch error: " << e.what_without_backtrace() << "\n";
        if (verbose)
            std::cerr << e.what() << "\n";
        else
            std::cerr << "(run again with --verbose for the backtrace, and report it: the input should have been "
                         "checked first)\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "\nerror: " << e.what() << "\n";
        return 1;
    }
}
