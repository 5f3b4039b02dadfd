#pragma once
// The CLI's generic adapter over a core job (util/job.h): binds the job's option table, adds
// --config, --json and --print-config, draws its progress, prints its log lines on stderr, runs
// it with Ctrl-C as the cancel token, and prints the result: its JSON, or the job's summary.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "util/error.h"
#include "util/files.h"
#include "util/job.h"

namespace dilute::cli {

template <class J>
using Printer = void (*)(const typename J::ResultType&);

/// One subcommand for `job`; `print` writes the human summary (without one, the JSON is it).
template <class J>
Runner addJob(CLI::App& app, Common& common, const J& job, Printer<J> print = nullptr) {
    auto o = std::make_shared<typename J::OptionsType>();
    // --config FILE (what --print-config wrote): read before binding, its values the defaults the
    // command line overrides; checked against the table (types, ranges, choices, unknown keys).
    auto config = std::make_shared<std::string>(configArg(common.argv, job.name));
    auto configError = std::make_shared<std::string>();
    if (!config->empty()) {
        try {
            optionsFromJson(job.options(), fs::readText(*config), *o, *config);
        } catch (const std::exception& e) {
            *configError = e.what();  // raised when the command runs (--help still works)
        }
    }
    bindOptions(app, job.options(), *o);
    app.add_option("--config", *config,
                   "Options from a JSON file (what --print-config writes); the command line overrides");
    app.add_flag("--json", common.json, "Print the result as JSON");
    auto printConfig = addPrintConfig(app);
    return [o, config, configError, printConfig, &common, &job, print]() {
        (void)config;  // captured to outlive the parse: CLI11 wrote the --config value into it
        if (!configError->empty()) throw Error(*configError);
        if (*printConfig) {
            std::printf("%s\n", optionsJson(job.options(), *o).c_str());
            return 0;
        }
        PhaseProgress bar;
        typename J::ObserverType obs;
        obs.progress = [&](const Progress& p) { bar.update(p); };
        obs.log = [&](const std::string& s) { bar.log(s); };
        const auto r = job.run(*o, obs, &interruptToken());
        bar.finish();
        if (common.json || !print)
            std::cout << job.toJson(r) << "\n";
        else
            print(r);
        return 0;
    };
}

}  // namespace dilute::cli
