// dilute eval: top-1 / top-5 / loss / images per second on a dataset split, or a fixed input
// tensor's logits. The job is core's (eval/job.h); this file binds its table and prints.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "eval/job.h"
#include "eval/optiontable.h"

namespace dilute::cli {

namespace {
void print(const eval::EvalJobResult& r) {
    if (!r.logits_out.empty()) {
        std::printf("logits    %s [%lld,%lld] on %s\n", r.logits_out.c_str(), r.logits_rows, r.logits_cols,
                    r.device.c_str());
        return;
    }
    std::printf("data      %s\nimages    %lld\ntop-1     %.2f%%\ntop-5     %.2f%%\nloss      %.4f\nimages/s  %.1f\n",
                r.describe.c_str(), r.images, r.top1, r.top5, r.loss, r.images_per_s);
}
}  // namespace

Runner addEval(CLI::App& app, Common& common) {
    auto o = std::make_shared<eval::EvalOptions>();
    bindOptions(app, eval::evalOptionTable(), *o);
    app.add_flag("--json", common.json, "Print JSON");
    auto printConfig = addPrintConfig(app);
    return [o, printConfig, &common]() {
        if (*printConfig) {
            std::printf("%s\n", optionsJson(eval::evalOptionTable(), *o).c_str());
            return 0;
        }
        ProgressBar bar("eval");
        eval::EvalObserver obs;
        obs.progress = [&](const Progress& p) { bar.update(p.done, p.total); };
        obs.warn = [&](const std::string& s) {
            bar.clearLine();
            std::fprintf(stderr, "warning: %s\n", s.c_str());
        };
        const auto r = eval::runEval(*o, obs, &interruptToken());
        bar.finish();
        if (common.json)
            std::cout << eval::evalToJson(r) << "\n";
        else
            print(r);
        return 0;
    };
}

}  // namespace dilute::cli
