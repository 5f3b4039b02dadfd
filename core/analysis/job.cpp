#include "analysis/job.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "analysis/optiontable.h"
#include "analysis/profile.h"
#include "analysis/selectors.h"
#include "analysis/transfer.h"
#include "data/loader.h"
#include "io/weights.h"
#include "util/error.h"
#include "util/files.h"
#include "util/runtime.h"

namespace dilute::analysis {

AnalysisResult runAnalysis(model::VisionTransformerImpl& m, const AnalysisOptions& o, const AnalysisObserver& obs,
                           const CancelToken* cancel) {
    const auto t0 = std::chrono::steady_clock::now();
    auto log = [&](const std::string& s) {
        if (obs.log) obs.log(s);
    };
    auto prog = [&](const char* phase) {
        return [&obs, phase](long long d, long long t) {
            if (obs.progress) obs.progress({phase, d, t});
        };
    };
    // Options first, before any image is read: clear errors instead of silent substitutes.
    if (o.k < -1 || o.k > m.depth())
        throw Error("--k " + std::to_string(o.k) + ": expected 0.." + std::to_string(m.depth()) + " (the model has " +
                    std::to_string(m.depth()) + " blocks) or -1 for a third of them");
    validateOptions(analysisOptionTable(), o);
    const std::string device = resolveDevice(o.device);
    m.to(torch::Device(device));
    const std::string uri = o.data.empty() ? m.config().default_data : o.data;
    if (uri.empty()) throw Error("model '" + m.config().name + "' has no default dataset: choose a dataset");
    if (o.calib <= 0) throw Error("calibration size must be positive");
    AnalysisResult r;
    r.model = o.model.empty() ? m.config().name : o.model;
    r.data = uri;
    r.split = o.split;
    if (obs.progress) obs.progress({"calibration", 0, 1});
    data::SkipReport skipped;
    auto batches = loadCalibration(m.config(), uri, o.split, o.calib, o.batch, o.workers, device, cancel, &skipped,
                                   o.calib_order, o.calib_seed, &r.calib_per_class);
    for (const auto& b : batches) r.calib += static_cast<int>(b.size(0));
    r.calib_order = o.calib_order;
    r.calib_seed = o.calib_seed;
    std::string perClass;
    for (size_t c : r.calib_per_class) perClass += (perClass.empty() ? "" : " ") + std::to_string(c);
    log("calibration: " + std::to_string(r.calib) + " images of " + uri + " " + o.split +
        (o.calib_order == "stratified"
             ? " (class-stratified, seed " + std::to_string(o.calib_seed) + "; per class " + perClass + ")"
             : " (the first in file order)"));
    if (skipped.count) log(skipped.message("calibration images"));

    auto partial = [&](const AnalysisResult& p) {
        if (obs.partial) obs.partial(p);
    };
    // The profile comes from TransferEntropy's first pass (the full model over the same batches).
    TransferOptions to;
    to.output = o.output;
    to.cache = !o.naive;
    ProfileAccumulator profile(m, o.output);
    TransferEntropy te(
        m, std::move(batches), to, cancel, [&](const model::FeatureTaps& t) { profile.add(t); }, prog("profile"));
    r.profile = profile.finish();
    if (r.profile.floored_channels > 0)
        log("warning: " + std::to_string(r.profile.floored_channels) + " channels have sigma below 1e-12 (clamped)");
    partial(r);
    r.t_single = singleTransfer(te, prog("transfer"));
    partial(r);

    const int depth = m.depth();
    int k = o.k < 0 ? depth / 3 : o.k;
    SelectorContext ctx;
    ctx.depth = depth;
    ctx.candidates = te.candidates();
    ctx.profile = &r.profile;
    ctx.te = &te;
    ctx.seed = o.seed;
    ctx.cancel = cancel;
    ctx.step = prog("select");
    ctx.round = [&](const Selection& soFar) {
        AnalysisResult p = r;
        p.selection = soFar;
        partial(p);
    };
    k = std::min<int>(k, static_cast<int>(ctx.candidates.size()));
    r.selection = select(o.selector, k, ctx);
    if (o.pairwise) {
        partial(r);  // the selection, before the (longer) pairwise matrix
        r.pairwise = pairwiseTransfer(te, prog("pairwise"));
    }
    r.evaluations = te.evaluations();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ostringstream ss;
    ss << "selected (" << r.selection.selector << ", K=" << k << "):";
    for (int b : r.selection.blocks) ss << " " << b;
    log(ss.str());
    return r;
}

AnalysisResult runAnalysis(const AnalysisOptions& o, const AnalysisObserver& obs, const CancelToken* cancel) {
    if (o.model.empty()) throw Error("--model is required");
    if (!o.out_dir.empty()) fs::ensureWritableDir(o.out_dir);  // fail before the work, not after
    auto m = io::openModel(o.model, io::openOptionsOf(o));
    auto r = runAnalysis(*m, o, obs, cancel);
    if (!o.out_dir.empty()) {
        writeAnalysis(o.out_dir, r);
        if (obs.log) obs.log("wrote " + o.out_dir + "/analysis.json and CSV tables");
    }
    return r;
}

const AnalysisJob& analysisJob() {
    static const AnalysisJob job{"analyze", "Entropy profile, transfer entropy and block selection (NOSE)",
                                 analysisOptionTable, runAnalysis, analysisToJson};
    return job;
}

}  // namespace dilute::analysis
