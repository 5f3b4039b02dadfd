// dilute inspect: class-token attention, rollout and mean attention distance per block and head,
// and with --vs the images whose prediction changes between two models (SPEC section 7).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "inspect/job.h"
#include "inspect/optiontable.h"
#include "util/files.h"

namespace dilute::cli {

namespace {

void printDistance(const inspect::InspectResult& r) {
    std::printf("mean attention distance (input pixels; patch %d, grid %dx%d)\nblock  mode     ", r.patch, r.grid,
                r.grid);
    for (int h = 0; h < r.heads; ++h) std::printf("  head %-3d", h);
    std::printf("   mean\n");
    for (int l = 0; l < r.depth; ++l) {
        std::printf("%4d   %-8s", l, r.modes[size_t(l)].c_str());
        double sum = 0;
        for (int h = 0; h < r.heads; ++h) {
            const double v = r.mean_distance[size_t(l * r.heads + h)];
            sum += v;
            if (std::isfinite(v))
                std::printf(" %8.2f ", v);
            else
                std::printf(" %8s ", "-");
        }
        if (std::isfinite(sum))
            std::printf(" %7.2f\n", sum / r.heads);
        else
            std::printf(" %7s\n", "-");
    }
}

void printComparison(const inspect::InspectResult& r) {
    const auto& c = r.comparison;
    std::printf("\ncompared with %s on %zu images: top-1 %.2f%% -> %.2f%%\n", c.vs.c_str(), r.count(), c.top1,
                c.top1_vs);
    auto name = [&](int k) {
        return k >= 0 && k < int(r.class_names.size()) ? r.class_names[size_t(k)] : std::to_string(k);
    };
    auto list = [&](const char* title, const std::vector<int>& which) {
        std::printf("%s  %zu images\n", title, which.size());
        for (int i : which) {
            const auto& im = r.images[size_t(i)];
            std::printf("  #%-4d %-40s label %-12s %s -> %s (p(label) %.3f -> %.3f)\n", i, im.source.c_str(),
                        name(im.label).c_str(), name(im.pred).c_str(), name(im.pred_vs).c_str(), im.p_label,
                        im.p_label_vs);
        }
    };
    list("right -> wrong", c.right_to_wrong);
    list("wrong -> right", c.wrong_to_right);
    list("largest changes of p(label)", c.largest_changes);
    std::printf("confusion difference (second minus first; label -> prediction):");
    int shown = 0;
    for (int a = 0; a < r.classes; ++a)
        for (int b = 0; b < r.classes; ++b)
            if (const int d = c.confusion_vs[size_t(a * r.classes + b)] - c.confusion[size_t(a * r.classes + b)];
                d != 0)
                std::printf("%s %s->%s %+d", shown++ % 6 ? "," : "\n ", name(a).c_str(), name(b).c_str(), d);
    std::printf("%s\n", shown ? "" : " none");
}

}  // namespace

Runner addInspect(CLI::App& app, Common& common) {
    auto o = std::make_shared<inspect::InspectOptions>();
    auto out = std::make_shared<std::string>();
    bindOptions(app, inspect::inspectOptionTable(), *o);
    app.add_option("--out,-o", *out, "Write inspect.json, inspect.safetensors and PNG overlays into this folder");
    app.add_flag("--json", common.json, "Print the inspection JSON");
    auto printConfig = addPrintConfig(app);
    return [o, out, printConfig, &common]() {
        if (*printConfig) {
            std::printf("%s\n", optionsJson(inspect::inspectOptionTable(), *o).c_str());
            return 0;
        }
        if (o->model.empty()) throw Error("--model is required");
        if (!out->empty()) fs::ensureWritableDir(*out);  // fail before the work, not after
        PhaseProgress bar;
        inspect::InspectObserver obs;
        obs.progress = [&](const Progress& p) { bar.update(p); };
        obs.log = [&](const std::string& s) { bar.log(s); };
        const auto r = inspect::runInspect(*o, obs, &interruptToken());
        bar.finish();
        if (!out->empty()) {
            inspect::writeInspect(*out, r, o->overlays);
            std::fprintf(stderr, "wrote %s/inspect.json, inspect.safetensors%s\n", out->c_str(),
                         o->overlays > 0 && DILUTE_WITH_OPENCV ? " and overlays/*.png" : "");
        }
        if (common.json) {
            std::cout << inspect::inspectToJson(r) << "\n";
            return 0;
        }
        std::printf("model   %s\nimages  %zu of %s\n\n", r.model.c_str(), r.count(),
                    r.input.empty() ? (r.data + " " + r.split).c_str() : r.input.c_str());
        printDistance(r);
        if (r.compared) printComparison(r);
        return 0;
    };
}

}  // namespace dilute::cli
