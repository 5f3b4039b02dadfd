// dilute inspect: class-token attention, rollout and mean attention distance per block and head,
// and with --vs the images whose prediction changes between two models (SPEC section 7). The job
// is core's (inspect/job.h), run by the CLI's generic adapter (cli/jobcommand.h); this prints.
#include <cmath>
#include <cstdio>

#include "cli/commands.h"
#include "inspect/job.h"

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

void printInspect(const inspect::InspectResult& r) {
    std::printf("model   %s\nimages  %zu of %s\n\n", r.model.c_str(), r.count(),
                r.input.empty() ? (r.data + " " + r.split).c_str() : r.input.c_str());
    printDistance(r);
    if (r.compared) printComparison(r);
}

}  // namespace dilute::cli
