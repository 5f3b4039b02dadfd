// The study's arms (experiment/studyrun.h): every selector's choice with its T(S) and zero-shot
// top-1, the exhaustive sweep over all K-subsets, and the dilution fine-tuning of each distinct
// block set beside the control.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "experiment/studyrun.h"
#include "io/weights.h"
#include "train/optiontable.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::experiment::detail {

namespace {

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

void StudyRun::addArm(const std::string& name, uint64_t seed, const analysis::Selection& s) {
    StudyArm a;
    a.selector = name;
    a.seed = seed;
    a.blocks = s.blocks;
    a.t = te_->T(s.blocks);
    a.zero_shot = analysis::skippedTop1(*m_, eval_, s.blocks, cancel_);
    log(name + (name == "random" ? " (seed " + std::to_string(seed) + ")" : "") + ": {" + blockList(a.blocks) +
        "}  T " + fixed(a.t, 4) + "  zero-shot top-1 " + fixed(a.zero_shot, 2) + "%");
    r_.arms.push_back(std::move(a));
}

void StudyRun::runSelectors() {
    analysis::SelectorContext ctx;
    ctx.depth = r_.depth;
    ctx.candidates = cand_;
    ctx.profile = &profile_;
    ctx.te = te_.get();
    ctx.cancel = cancel_;
    const long long steps = 6 + o_.seeds;
    long long done = 0;
    const auto t0 = std::chrono::steady_clock::now();
    auto step = progress("select");
    for (const char* name : {"nose", "nose-abs", "lowest", "first"}) {
        addArm(name, 0, analysis::select(name, r_.k, ctx));
        step(++done, steps);
    }
    addArm("max-t", 0, analysis::maxTransfer(*te_, r_.k, cancel_));
    step(++done, steps);
    for (int i = 0; i < o_.seeds; ++i) {
        ctx.seed = o_.seed + static_cast<uint64_t>(i);
        addArm("random", ctx.seed, analysis::select("random", r_.k, ctx));
        step(++done, steps);
    }
    armSeconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(r_.arms.size());
}

// A sweep that would run for days is refused before it starts, with the count and an estimate
// (each subset costs about what one selector arm cost: one T(S) and one zero-shot top-1).
void StudyRun::checkSweepSize() const {
    const double estimate = armSeconds_ * double(r_.subsets_total);
    const bool tooMany =
        o_.max_subsets > 0 ? r_.subsets_total > o_.max_subsets : r_.subsets_total > 100000 || estimate > 3600;
    if (!tooMany) return;
    char hours[32];
    std::snprintf(hours, sizeof hours, "%.1f", estimate / 3600);
    throw Error("--exhaustive on: C(" + std::to_string(cand_.size()) + "," + std::to_string(r_.k) +
                ") = " + std::to_string(r_.subsets_total) + " subsets, about " + hours + " hours here (" +
                fixed(armSeconds_, 2) + " s each); above " +
                (o_.max_subsets > 0 ? "--max-subsets " + std::to_string(o_.max_subsets)
                                    : std::string("100000 subsets or an hour")) +
                ". Raise --max-subsets to run it, or use --exhaustive auto");
}

void StudyRun::runSweep() {
    r_.subsets_total = analysis::binomial(static_cast<int>(cand_.size()), r_.k);
    const bool want = o_.exhaustive == "on" || (o_.exhaustive == "auto" && r_.subsets_total <= o_.exhaustive_limit);
    const size_t need = analysis::sweepBytes(m_->config(), r_.calib + r_.eval_images, r_.k);
    if (!want) {
        r_.notes.push_back("exhaustive sweep not run: C(" + std::to_string(cand_.size()) + "," + std::to_string(r_.k) +
                           ") = " + std::to_string(r_.subsets_total) + " subsets" +
                           (o_.exhaustive == "off" ? " (--exhaustive off)"
                                                   : " > --exhaustive-limit " + std::to_string(o_.exhaustive_limit)));
        return;
    }
    if (o_.exhaustive == "on") checkSweepSize();
    if (need > fs::memoryLimitBytes()) {
        const std::string why = "the exhaustive sweep would hold " + std::to_string(need >> 20) +
                                " MiB of activations, over the limit of " +
                                std::to_string(fs::memoryLimitBytes() >> 20) +
                                " MiB (half the memory); use fewer --calib or --eval-images";
        if (o_.exhaustive == "on") throw Error(why);
        r_.notes.push_back("exhaustive sweep skipped: " + why);
        return;
    }
    log("exhaustive sweep: " + std::to_string(r_.subsets_total) + " subsets of " + std::to_string(r_.k) + " of " +
        std::to_string(cand_.size()) + " blocks");
    auto scores =
        analysis::sweepSubsets(*m_, calib_, r_.h_full, o_.output, eval_, cand_, r_.k, cancel_, progress("sweep"));
    std::vector<double> ts, zs;
    for (auto& s : scores) {
        ts.push_back(s.t);
        zs.push_back(s.top1);
        r_.subsets.push_back({std::move(s.blocks), s.t, s.top1});
    }
    r_.spearman_t_top1 = analysis::spearman(ts, zs);
    r_.random_expected = mean(zs);
    const auto minT = std::min_element(r_.subsets.begin(), r_.subsets.end(),
                                       [](const StudySubset& a, const StudySubset& b) { return a.t < b.t; });
    const auto best =
        std::max_element(r_.subsets.begin(), r_.subsets.end(),
                         [](const StudySubset& a, const StudySubset& b) { return a.zero_shot < b.zero_shot; });
    r_.arms.push_back({"min-t", 0, minT->blocks, minT->t, minT->zero_shot, NAN, 0, NAN, ""});
    r_.arms.push_back({"oracle", 0, best->blocks, best->t, best->zero_shot, NAN, 0, NAN, ""});
    rankArms(r_);
    log("Spearman(T, zero-shot top-1) over " + std::to_string(r_.subsets.size()) +
        " subsets: " + fixed(r_.spearman_t_top1, 3));
}

train::TrainOptions StudyRun::finetuneOptions(const std::string& name, const std::string& select) const {
    train::TrainOptions t;
    t.batch = o_.finetune_batch;
    static_cast<io::ModelRef&>(t) = o_;  // opened as the study opened it (--img-size, --weights-key ...)
    train::applyRecipe(t, weights_, [](const train::OptionSpec& s) { return s.name == "batch"; });
    t.model = weights_;
    t.data = r_.data;
    t.out_dir = fs::join(fs::join(o_.out_dir, "finetune"), name);
    t.overwrite = true;  // the study owns its folder (an earlier study is refused before it starts)
    t.epochs = o_.finetune_epochs;
    t.seed = o_.seed;
    t.device = device_;
    t.workers = o_.workers;
    t.train_limit = o_.finetune_train_limit;
    t.select = select;
    return t;
}

// One run per distinct block set (arms that chose the same blocks share it), and the control.
void StudyRun::runFinetuning() {
    std::map<std::vector<int>, std::pair<double, std::string>> done;  // block set -> top-1, run
    std::vector<size_t> order;
    std::set<std::vector<int>> sets;
    for (size_t i = 0; i < r_.arms.size(); ++i)
        if (r_.arms[i].selector != "min-t" && r_.arms[i].selector != "oracle") {
            order.push_back(i);
            sets.insert(sorted(r_.arms[i].blocks));
        }
    const long long runs = static_cast<long long>(sets.size()) + 1;
    long long runsDone = 0;
    auto step = progress("finetune");
    train::TrainObserver tobs;
    tobs.log = [this](const std::string& s) { log("  " + s); };
    log("fine-tuning the control (no block removed), " + std::to_string(o_.finetune_epochs) + " epochs");
    r_.control_finetuned = train::train(finetuneOptions("control", "none"), tobs, cancel_).final_top1;
    step(++runsDone, runs);
    partial();
    for (size_t i : order) {
        auto& a = r_.arms[i];
        auto it = done.find(sorted(a.blocks));
        if (it == done.end()) {
            const std::string name = a.selector == "random" ? "random-" + std::to_string(a.seed) : a.selector;
            log("fine-tuning " + name + ": dilution of {" + blockList(a.blocks) + "}");
            auto s = train::train(finetuneOptions(name, blockList(a.blocks)), tobs, cancel_);
            it = done.emplace(sorted(a.blocks), std::make_pair(s.final_top1, s.run_dir)).first;
            step(++runsDone, runs);
        }
        a.finetuned = it->second.first;
        a.run_dir = it->second.second;
        partial();
    }
}

}  // namespace dilute::experiment::detail
