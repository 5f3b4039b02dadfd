// dilute analyze: entropy profile, transfer entropy, NOSE / baseline selection. The job is core's
// (analysis/job.h), run by the CLI's generic adapter (cli/jobcommand.h); this prints its summary.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "analysis/job.h"
#include "cli/commands.h"

namespace dilute::cli {

void printAnalysis(const analysis::AnalysisResult& r) {
    const auto& p = r.profile;
    std::printf("calibration  %d images of %s (%s), %s\noutput H     %.3f nats (%s)\n\n", r.calib, r.data.c_str(),
                r.split.c_str(),
                r.calib_order == "stratified" ? ("class-stratified, seed " + std::to_string(r.calib_seed)).c_str()
                                              : "the first in file order",
                p.output, p.output_kind.c_str());
    std::printf("block   H_attn     H_mlp    T({i})   heads (H before proj)\n");
    for (int l = 0; l < p.depth; ++l) {
        const bool sel = std::find(r.selection.blocks.begin(), r.selection.blocks.end(), l) != r.selection.blocks.end();
        std::printf("%3d%s %9.2f %9.2f %9.4f  ", l, sel ? "*" : " ", p.attn[l], p.mlp[l], r.t_single[l]);
        for (double h : p.head[l]) std::printf(" %7.2f", h);
        std::printf("\n");
    }
    std::printf("\nselection (%s):", r.selection.selector.c_str());
    for (int b : r.selection.blocks) std::printf(" %d", b);
    if (std::isfinite(r.selection.t_final)) std::printf("   T(S) = %.4f", r.selection.t_final);
    std::printf("\n");
    for (size_t s = 0; s < r.selection.trace.size(); ++s) {
        const auto& st = r.selection.trace[s];
        std::printf("  step %zu: took %d (T=%.4f) of", s + 1, st.chosen, st.t_chosen);
        for (size_t c = 0; c < st.candidates.size(); ++c) std::printf(" %d:%.3f", st.candidates[c], st.t[c]);
        std::printf("\n");
    }
    if (!r.pairwise.empty()) {
        std::printf("\npairwise T({i,j}) (diagonal T({i}))\n     ");
        for (size_t j = 0; j < r.pairwise.size(); ++j) std::printf(" %7zu", j);
        std::printf("\n");
        for (size_t i = 0; i < r.pairwise.size(); ++i) {
            std::printf("%4zu ", i);
            for (double v : r.pairwise[i]) std::printf(" %7.3f", v);
            std::printf("\n");
        }
    }
    std::printf("\n%d transfer-entropy evaluations in %.1f s\n", r.evaluations, r.seconds);
}

}  // namespace dilute::cli
