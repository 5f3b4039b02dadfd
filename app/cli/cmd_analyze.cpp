// dilute analyze: entropy profile, transfer entropy, NOSE / baseline selection.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "analysis/job.h"
#include "analysis/optiontable.h"
#include "analysis/selectors.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "util/files.h"

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

void bindAnalysisOptions(CLI::App& app, analysis::AnalysisOptions& a) {
    bindOptions(app, analysis::analysisOptionTable(), a);
}

Runner addAnalyze(CLI::App& app, Common& common) {
    auto a = std::make_shared<analysis::AnalysisOptions>();
    auto out = std::make_shared<std::string>();
    bindAnalysisOptions(app, *a);
    app.add_option("--out,-o", *out, "Write analysis.json and CSV tables into this folder");
    app.add_flag("--json", common.json, "Print the analysis JSON");
    auto printConfig = addPrintConfig(app);
    return [a, out, printConfig, &common]() {
        if (*printConfig) {
            std::printf("%s\n", optionsJson(analysis::analysisOptionTable(), *a).c_str());
            return 0;
        }
        if (a->model.empty()) throw Error("--model is required");
        if (!out->empty()) fs::ensureWritableDir(*out);  // fail before the work, not after
        PhaseProgress bar;
        analysis::AnalysisObserver obs;
        obs.progress = [&](const Progress& p) { bar.update(p); };
        obs.log = [&](const std::string& s) { bar.log(s); };
        auto r = analysis::runAnalysis(*a, obs, &interruptToken());
        bar.finish();
        if (!out->empty()) {
            analysis::writeAnalysis(*out, r);
            std::fprintf(stderr, "wrote %s/analysis.json and CSV tables\n", out->c_str());
        }
        if (common.json)
            std::cout << analysis::analysisToJson(r) << "\n";
        else
            printAnalysis(r);
        return 0;
    };
}

}  // namespace dilute::cli
