#include "experiment/study.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "analysis/profile.h"
#include "analysis/selectors.h"
#include "analysis/sweep.h"
#include "analysis/transfer.h"
#include "data/loader.h"
#include "io/export.h"
#include "io/weights.h"
#include "model/preset.h"
#include "train/optiontable.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/files.h"
#include "util/runtime.h"

namespace dilute::experiment {

namespace {

std::string blockList(const std::vector<int>& b) {
    std::string s;
    for (int i : b) s += (s.empty() ? "" : ",") + std::to_string(i);
    return s;
}

std::string fixed(double v, int digits) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", digits, v);
    return b;
}

std::vector<int> sorted(std::vector<int> b) {
    std::sort(b.begin(), b.end());
    return b;
}

void validate(const StudyOptions& o) {
    if (o.model.empty()) throw Error("--model is required (a weights file or a run folder)");
    if (o.k < -1) throw Error("--k " + std::to_string(o.k) + ": expected a positive number of blocks, or -1 for a third of them");
    if (o.k == 0) throw Error("--k 0: a study needs at least one block to select");
    if (o.seeds < 0 || o.seeds > 1000) throw Error("--seeds " + std::to_string(o.seeds) + ": expected 0..1000");
    if (o.calib <= 0) throw Error("--calib " + std::to_string(o.calib) + ": expected a positive number of images");
    if (o.calib_order != "stratified" && o.calib_order != "first")
        throw Error("--calib-order '" + o.calib_order + "': expected stratified or first");
    if (o.output != "cls" && o.output != "logits") throw Error("--output-entropy '" + o.output + "': expected cls or logits");
    if (o.eval_images < 0) throw Error("--eval-images " + std::to_string(o.eval_images) + ": expected 0 (all) or more");
    if (o.exhaustive != "auto" && o.exhaustive != "on" && o.exhaustive != "off")
        throw Error("--exhaustive '" + o.exhaustive + "': expected auto, on or off");
    if (o.exhaustive_limit < 1) throw Error("--exhaustive-limit must be positive");
    if (o.finetune_epochs < 0) throw Error("--finetune-epochs " + std::to_string(o.finetune_epochs) + ": expected 0 or more");
    if (o.batch <= 0 || o.finetune_batch <= 0) throw Error("--batch: expected a positive batch size");
    if (o.finetune_epochs > 0 && o.out_dir.empty())
        throw Error("--finetune-epochs needs --out: the fine-tuning runs are written under OUT/finetune/");
    if (o.finetune_epochs > 0 && model::isPreset(o.model))
        throw Error("--finetune-epochs: '" + o.model + "' is a preset (random weights); fine-tune a trained model: "
                    "a weights file or a run folder");
}

double mean(const std::vector<double>& v) {
    return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
double sd(const std::vector<double>& v) {
    if (v.size() < 2) return v.empty() ? NAN : 0.0;
    const double m = mean(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size() - 1));
}

void rankArms(StudyResult& r) {
    if (r.subsets.empty()) return;
    const long long n = static_cast<long long>(r.subsets.size());
    for (auto& a : r.arms) {
        if (a.blocks.empty()) continue;
        long long better = 0;
        for (const auto& s : r.subsets)
            if (s.zero_shot > a.zero_shot) ++better;
        a.rank = better + 1;
        a.percentile = n > 1 ? 100.0 * static_cast<double>(n - a.rank) / static_cast<double>(n - 1) : 100.0;
    }
}

}  // namespace

std::vector<StudySummary> summarize(const StudyResult& r) {
    std::vector<StudySummary> out;
    for (const auto& a : r.arms) {
        auto it = std::find_if(out.begin(), out.end(), [&](const StudySummary& s) { return s.selector == a.selector; });
        if (it == out.end()) {
            out.push_back({});
            out.back().selector = a.selector;
        }
    }
    for (auto& s : out) {
        std::vector<double> t, z, f;
        for (const auto& a : r.arms) {
            if (a.selector != s.selector) continue;
            ++s.arms;
            if (std::isfinite(a.t)) t.push_back(a.t);
            if (std::isfinite(a.zero_shot)) z.push_back(a.zero_shot);
            if (std::isfinite(a.finetuned)) f.push_back(a.finetuned);
        }
        s.t_mean = mean(t);
        s.zero_shot_mean = mean(z);
        s.zero_shot_sd = sd(z);
        s.finetuned_mean = mean(f);
        s.finetuned_sd = sd(f);
        if (!z.empty()) {
            s.zero_shot_min = *std::min_element(z.begin(), z.end());
            s.zero_shot_max = *std::max_element(z.begin(), z.end());
        }
        if (!f.empty()) {
            s.finetuned_min = *std::min_element(f.begin(), f.end());
            s.finetuned_max = *std::max_element(f.begin(), f.end());
        }
    }
    return out;
}

StudyResult runStudy(const StudyOptions& o, const StudyObserver& obs, const CancelToken* cancel) {
    const auto t0 = std::chrono::steady_clock::now();
    validate(o);
    auto log = [&](const std::string& s) {
        if (obs.log) obs.log(s);
    };
    auto prog = [&](const char* phase) {
        return [&obs, phase](long long d, long long t) {
            if (obs.progress) obs.progress({phase, d, t});
        };
    };
    auto partial = [&](StudyResult& r) {  // the time so far, shown and written with what is done
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (obs.partial) obs.partial(r);
        if (!o.out_dir.empty()) writeStudy(o.out_dir, r);
    };
    if (!o.out_dir.empty()) {
        fs::ensureWritableDir(o.out_dir);  // fail before the work, not after
        if (fs::exists(fs::join(o.out_dir, "study.json")) && !o.overwrite)
            throw Error(o.out_dir + " already holds a study (study.json); choose another folder or pass --overwrite");
    }
    const std::string weights = model::isPreset(o.model) ? o.model : io::weightsOf(o.model);
    auto m = io::openModel(weights, io::openOptionsOf(o));
    const std::string device = resolveDevice(o.device);
    m->to(torch::Device(device));
    m->eval();
    const int L = m->depth();

    StudyResult r;
    r.model = o.model;
    r.device = device;
    r.depth = L;
    r.data = o.data.empty() ? m->config().default_data : o.data;
    if (r.data.empty()) throw Error("model '" + m->config().name + "' has no default dataset: choose one with --data");
    r.calib_order = o.calib_order;
    r.calib_seed = o.calib_seed;
    r.output = o.output;
    r.eval_split = o.eval_split;
    r.finetune_epochs = o.finetune_epochs;

    if (obs.progress) obs.progress({"calibration", 0, 1});
    data::SkipReport skipped;
    auto calib = analysis::loadCalibration(m->config(), r.data, "train", o.calib, o.batch, o.workers, device, cancel,
                                           &skipped, o.calib_order, o.calib_seed);
    for (const auto& b : calib) r.calib += static_cast<int>(b.size(0));
    if (skipped.count) log(skipped.message("calibration images"));
    if (obs.progress) obs.progress({"evaluation", 0, 1});
    std::string evalSkipped;
    const auto eval = analysis::loadLabeled(m->config(), r.data, o.eval_split, static_cast<size_t>(o.eval_images), 0,
                                            o.batch, o.workers, device, cancel, &evalSkipped);
    if (!evalSkipped.empty()) log(evalSkipped);
    r.eval_images = eval.size();
    log("calibration: " + std::to_string(r.calib) + " images of " + r.data + " train (" + o.calib_order +
        "); zero-shot top-1 on " + std::to_string(r.eval_images) + " " + o.eval_split + " images");

    analysis::TransferOptions to;
    to.output = o.output;
    analysis::ProfileAccumulator acc(*m, o.output);  // from the transfer entropy's first pass
    analysis::TransferEntropy te(*m, calib, to, cancel, [&](const model::FeatureTaps& t) { acc.add(t); });
    const auto profile = acc.finish();
    r.h_full = te.fullEntropy();
    r.full_top1 = analysis::skippedTop1(*m, eval, {}, cancel);
    log("full model: top-1 " + fixed(r.full_top1, 2) + "%, H_out " + fixed(r.h_full, 3) + " nats");

    const auto cand = te.candidates();
    r.k = o.k < 0 ? std::max(1, L / 3) : o.k;
    if (r.k > static_cast<int>(cand.size()))
        throw Error("--k " + std::to_string(r.k) + ": the model has only " + std::to_string(cand.size()) +
                    " blocks with attention");

    // The selectors.
    auto addArm = [&](const std::string& name, uint64_t seed, analysis::Selection s) {
        StudyArm a;
        a.selector = name;
        a.seed = seed;
        a.blocks = s.blocks;
        a.t = te.T(s.blocks);
        a.zero_shot = analysis::skippedTop1(*m, eval, s.blocks, cancel);
        log(name + (name == "random" ? " (seed " + std::to_string(seed) + ")" : "") + ": {" + blockList(a.blocks) +
            "}  T " + fixed(a.t, 4) + "  zero-shot top-1 " + fixed(a.zero_shot, 2) + "%");
        r.arms.push_back(std::move(a));
    };
    analysis::SelectorContext ctx;
    ctx.depth = L;
    ctx.candidates = cand;
    ctx.profile = &profile;
    ctx.te = &te;
    ctx.cancel = cancel;
    const long long selSteps = 6 + o.seeds;
    long long selDone = 0;
    auto selStep = prog("select");
    for (const char* name : {"nose", "nose-abs", "lowest", "first"}) {
        addArm(name, 0, analysis::select(name, r.k, ctx));
        selStep(++selDone, selSteps);
    }
    addArm("max-t", 0, analysis::maxTransfer(te, r.k, cancel));
    selStep(++selDone, selSteps);
    for (int i = 0; i < o.seeds; ++i) {
        ctx.seed = o.seed + static_cast<uint64_t>(i);
        addArm("random", ctx.seed, analysis::select("random", r.k, ctx));
        selStep(++selDone, selSteps);
    }
    partial(r);

    // The exhaustive sweep.
    r.subsets_total = analysis::binomial(static_cast<int>(cand.size()), r.k);
    const bool wantSweep = o.exhaustive == "on" || (o.exhaustive == "auto" && r.subsets_total <= o.exhaustive_limit);
    const size_t need = analysis::sweepBytes(m->config(), r.calib + r.eval_images, r.k);
    if (wantSweep && need > fs::memoryLimitBytes()) {
        const std::string why = "the exhaustive sweep would hold " + std::to_string(need >> 20) +
                                " MiB of activations, over the limit of " + std::to_string(fs::memoryLimitBytes() >> 20) +
                                " MiB (half the memory); use fewer --calib or --eval-images";
        if (o.exhaustive == "on") throw Error(why);
        r.notes.push_back("exhaustive sweep skipped: " + why);
    } else if (wantSweep) {
        log("exhaustive sweep: " + std::to_string(r.subsets_total) + " subsets of " + std::to_string(r.k) + " of " +
            std::to_string(cand.size()) + " blocks");
        auto scores = analysis::sweepSubsets(*m, calib, r.h_full, o.output, eval, cand, r.k, cancel, prog("sweep"));
        std::vector<double> ts, zs;
        for (auto& s : scores) {
            ts.push_back(s.t);
            zs.push_back(s.top1);
            r.subsets.push_back({std::move(s.blocks), s.t, s.top1});
        }
        r.spearman_t_top1 = analysis::spearman(ts, zs);
        r.random_expected = mean(zs);
        const auto minT = std::min_element(r.subsets.begin(), r.subsets.end(),
                                           [](const StudySubset& a, const StudySubset& b) { return a.t < b.t; });
        const auto best = std::max_element(r.subsets.begin(), r.subsets.end(), [](const StudySubset& a,
                                                                                  const StudySubset& b) {
            return a.zero_shot < b.zero_shot;
        });
        r.arms.push_back({"min-t", 0, minT->blocks, minT->t, minT->zero_shot, NAN, 0, NAN, ""});
        r.arms.push_back({"oracle", 0, best->blocks, best->t, best->zero_shot, NAN, 0, NAN, ""});
        rankArms(r);
        log("Spearman(T, zero-shot top-1) over " + std::to_string(r.subsets.size()) + " subsets: " +
            fixed(r.spearman_t_top1, 3));
    } else {
        r.notes.push_back("exhaustive sweep not run: C(" + std::to_string(cand.size()) + "," + std::to_string(r.k) +
                          ") = " + std::to_string(r.subsets_total) + " subsets" +
                          (o.exhaustive == "off" ? " (--exhaustive off)"
                                                 : " > --exhaustive-limit " + std::to_string(o.exhaustive_limit)));
    }
    partial(r);

    // Dilution fine-tuning, one run per distinct block set, and the control.
    if (o.finetune_epochs > 0) {
        auto options = [&](const std::string& name, const std::string& select) {
            train::TrainOptions t;
            t.batch = o.finetune_batch;
            static_cast<io::ModelRef&>(t) = o;  // opened as the study opened it (--img-size, --weights-key ...)
            train::applyRecipe(t, weights, [](const train::OptionSpec& s) { return s.name == "batch"; });
            t.model = weights;
            t.data = r.data;
            t.out_dir = fs::join(fs::join(o.out_dir, "finetune"), name);
            t.overwrite = true;  // the study owns its folder (an earlier study is refused above)
            t.epochs = o.finetune_epochs;
            t.seed = o.seed;
            t.device = device;
            t.workers = o.workers;
            t.train_limit = o.finetune_train_limit;
            t.select = select;
            return t;
        };
        std::map<std::vector<int>, std::pair<double, std::string>> done;  // block set -> top-1, run
        std::vector<size_t> order;
        for (size_t i = 0; i < r.arms.size(); ++i)
            if (r.arms[i].selector != "min-t" && r.arms[i].selector != "oracle") order.push_back(i);
        const long long runs = [&] {
            std::set<std::vector<int>> sets;
            for (size_t i : order) sets.insert(sorted(r.arms[i].blocks));
            return static_cast<long long>(sets.size()) + 1;
        }();
        long long runsDone = 0;
        auto ftStep = prog("finetune");
        train::TrainObserver tobs;
        tobs.onLog = [&](const std::string& s) { log("  " + s); };
        log("fine-tuning the control (no block removed), " + std::to_string(o.finetune_epochs) + " epochs");
        auto ctrl = train::train(options("control", "none"), tobs, cancel);
        r.control_finetuned = ctrl.final_top1;
        ftStep(++runsDone, runs);
        partial(r);
        for (size_t i : order) {
            auto& a = r.arms[i];
            const auto key = sorted(a.blocks);
            auto it = done.find(key);
            if (it == done.end()) {
                const std::string name = a.selector == "random" ? "random-" + std::to_string(a.seed) : a.selector;
                log("fine-tuning " + name + ": dilution of {" + blockList(a.blocks) + "}");
                auto s = train::train(options(name, blockList(a.blocks)), tobs, cancel);
                it = done.emplace(key, std::make_pair(s.final_top1, s.run_dir)).first;
                ftStep(++runsDone, runs);
            }
            a.finetuned = it->second.first;
            a.run_dir = it->second.second;
            partial(r);
        }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!o.out_dir.empty()) writeStudy(o.out_dir, r);
    return r;
}

}  // namespace dilute::experiment
