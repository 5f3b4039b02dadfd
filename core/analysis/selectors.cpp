#include "analysis/selectors.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "util/error.h"

namespace dilute::analysis {

std::vector<std::string> selectorNames() { return {"nose", "nose-abs", "random", "lowest", "first"}; }

bool selectorNeedsTransfer(const std::string& name) { return name == "nose" || name == "nose-abs"; }

namespace {

// Greedy forward selection: K rounds, each taking the candidate with the smallest key(T(S + {i})).
Selection greedy(TransferEntropy& te, int k, const std::string& name, double (*key)(double), const CancelToken* cancel,
                 const StepFn& step, const RoundFn& onRound) {
    auto remaining = te.candidates();
    if (k < 0 || k > static_cast<int>(remaining.size()))
        throw Error("cannot select " + std::to_string(k) + " of " + std::to_string(remaining.size()) + " blocks");
    Selection s;
    s.selector = name;
    long long total = 0, done = 0;
    for (int r = 0; r < k; ++r) total += static_cast<long long>(remaining.size()) - r;
    for (int round = 0; round < k; ++round) {
        SelectionStep st;
        double best = INFINITY;
        for (int c : remaining) {
            if (cancel) cancel->throwIfCancelled();
            auto set = s.blocks;
            set.push_back(c);
            const double t = te.T(set);
            st.candidates.push_back(c);
            st.t.push_back(t);
            const double kv = key(t);
            if (kv < best) {    // strict: ties go to the lower block index
                te.keepLast();  // its stream becomes the next round's base, at no cost
                best = kv;
                st.chosen = c;
                st.t_chosen = t;
            }
            if (step) step(++done, total);
        }
        s.blocks.push_back(st.chosen);
        if (round + 1 < k) te.setBase(s.blocks);  // the next round's candidates start at their own block
        remaining.erase(std::find(remaining.begin(), remaining.end(), st.chosen));
        s.t_final = st.t_chosen;
        s.trace.push_back(std::move(st));
        if (onRound) onRound(s);
    }
    te.setBase({});
    if (!s.trace.empty()) s.t_final = s.trace.back().t_chosen;
    return s;
}

double plain(double t) { return t; }
double magnitude(double t) { return std::fabs(t); }
double negated(double t) { return -t; }

}  // namespace

Selection nose(TransferEntropy& te, int k, bool absolute, const CancelToken* cancel, const StepFn& step,
               const RoundFn& onRound) {
    return greedy(te, k, absolute ? "nose-abs" : "nose", absolute ? magnitude : plain, cancel, step, onRound);
}

Selection maxTransfer(TransferEntropy& te, int k, const CancelToken* cancel, const StepFn& step) {
    return greedy(te, k, "max-t", negated, cancel, step, {});
}

Selection select(const std::string& name, int k, const SelectorContext& ctx) {
    const int n = static_cast<int>(ctx.candidates.size());
    if (k < 0 || k > n) throw Error("cannot select " + std::to_string(k) + " of " + std::to_string(n) + " blocks");
    Selection s;
    s.selector = name;
    if (name == "nose" || name == "nose-abs") {
        if (!ctx.te) throw Error("selector '" + name + "' needs transfer entropy");
        s = nose(*ctx.te, k, name == "nose-abs", ctx.cancel, ctx.step, ctx.round);
    } else if (name == "random") {
        std::vector<int> c = ctx.candidates;
        std::mt19937_64 rng(ctx.seed);
        for (size_t i = c.size(); i > 1; --i) {
            std::uniform_int_distribution<size_t> d(0, i - 1);
            std::swap(c[i - 1], c[d(rng)]);
        }
        s.blocks.assign(c.begin(), c.begin() + k);
    } else if (name == "lowest") {
        if (!ctx.profile) throw Error("selector 'lowest' needs an entropy profile");
        std::vector<int> c = ctx.candidates;
        std::stable_sort(c.begin(), c.end(), [&](int a, int b) { return ctx.profile->attn[a] < ctx.profile->attn[b]; });
        s.blocks.assign(c.begin(), c.begin() + k);
    } else if (name == "first") {
        s.blocks.assign(ctx.candidates.begin(), ctx.candidates.begin() + k);
    } else {
        throw Error("unknown selector '" + name + "' (expected nose, nose-abs, random, lowest or first)");
    }
    if (ctx.te && std::isnan(s.t_final) && !s.blocks.empty()) s.t_final = ctx.te->T(s.blocks);
    return s;
}

}  // namespace dilute::analysis
