#include "analysis/transfer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "analysis/entropy.h"
#include "util/error.h"

namespace dilute::analysis {

TransferEntropy::TransferEntropy(model::VisionTransformerImpl& m, std::vector<torch::Tensor> batches, TransferOptions o,
                                 const CancelToken* cancel,
                                 const std::function<void(const model::FeatureTaps&)>& observe,
                                 const std::function<void(long long, long long)>& step)
    : m_(m), batches_(std::move(batches)), o_(std::move(o)), cancel_(cancel) {
    if (o_.output != "cls" && o_.output != "logits")
        throw Error("output entropy '" + o_.output + "': expected cls or logits");
    if (batches_.empty()) throw Error("transfer entropy needs at least one calibration batch");
    c10::InferenceMode inference;  // no autograd bookkeeping at all (faster than NoGradGuard)
    m_.eval();
    const int L = m_.depth();
    if (o_.cache) {
        const auto& c = m_.config();
        size_t per_block = 0;
        for (const auto& b : batches_) per_block += size_t(b.size(0)) * c.numTokens() * c.embed_dim * 4;
        stride_ = 1;
        while (per_block * ((L + stride_ - 1) / stride_) > o_.cache_budget_bytes && stride_ < L) ++stride_;
        keepStreams_ = per_block * ((L + stride_ - 1) / stride_) * 4 <= o_.cache_budget_bytes;
    }
    GaussianEntropy h;
    long long done = 0;
    for (const auto& b : batches_) {
        if (cancel_) cancel_->throwIfCancelled();
        model::FeatureTaps taps;
        auto x = m_.embed(b);
        std::vector<torch::Tensor> inputs;
        for (int i = 0; i < L; ++i) {
            if (o_.cache && i % stride_ == 0) inputs.push_back(x);
            x = m_.runBlocks(x, i, i + 1, nullptr, observe ? &taps : nullptr);
        }
        if (o_.cache) cache_.push_back(std::move(inputs));
        taps.feature = m_.feature(x);
        if (observe || o_.output == "logits") taps.logits = m_.classify(taps.feature);
        h.add(o_.output == "logits" ? taps.logits : taps.feature);
        if (observe) observe(taps);
        if (step) step(++done, static_cast<long long>(batches_.size()));
    }
    h_full_ = h.entropy();
}

torch::Tensor TransferEntropy::feature(const torch::Tensor& x) {
    auto cls = m_.feature(x);
    return o_.output == "logits" ? m_.classify(cls) : cls;
}

std::vector<int> TransferEntropy::candidates() const {
    std::vector<int> out;
    for (int i = 0; i < m_.depth(); ++i)
        if (m_.block(i)->hasAttention()) out.push_back(i);
    return out;
}

std::vector<bool> attentionSkipMask(const model::VisionTransformerImpl& m, const std::vector<int>& blocks) {
    const int L = m.depth();
    std::vector<bool> skip(L, false);
    for (int i : blocks) {
        if (i < 0 || i >= L) throw Error("block " + std::to_string(i) + " out of range");
        if (!m.block(i)->hasAttention()) throw Error("block " + std::to_string(i) + " has no attention to skip");
        skip[i] = true;
    }
    return skip;
}

void TransferEntropy::keepLast() {
    if (!keepStreams_ || lastQuery_.empty() || lastQuery_ != lastMask_) return;
    kept_ = last_;  // tensor handles: no copy
    keptMask_ = lastMask_;
}

void TransferEntropy::setBase(const std::vector<int>& base) {
    base_cache_.clear();
    base_.clear();
    if (!o_.cache || base.empty()) {
        kept_.clear();
        keptMask_.clear();
        return;
    }
    c10::InferenceMode inference;  // no autograd bookkeeping at all (faster than NoGradGuard)
    const int L = m_.depth();
    auto skip = attentionSkipMask(m_, base);
    if (!keptMask_.empty() && keptMask_ == skip) {  // the greedy search's winner: computed already
        base_cache_ = std::move(kept_);
        base_ = std::move(skip);
        kept_.clear();
        keptMask_.clear();
        return;
    }
    const int first = *std::min_element(base.begin(), base.end());
    for (size_t b = 0; b < batches_.size(); ++b) {
        if (cancel_) cancel_->throwIfCancelled();
        const int slot0 = first / stride_;
        std::vector<torch::Tensor> inputs(cache_[b].begin(), cache_[b].begin() + slot0 + 1);
        auto x = cache_[b][slot0];
        for (int i = slot0 * stride_; i < L; ++i) {
            if (i % stride_ == 0 && i / stride_ > slot0) inputs.push_back(x);
            x = m_.runBlocks(x, i, i + 1, &skip);
        }
        base_cache_.push_back(std::move(inputs));
    }
    base_ = std::move(skip);
}

double TransferEntropy::outputEntropy(const std::vector<int>& skipped) {
    c10::InferenceMode inference;  // no autograd bookkeeping at all (faster than NoGradGuard)
    const int L = m_.depth();
    auto skip = attentionSkipMask(m_, skipped);
    if (o_.cache) {  // the naive reference (cache off) recomputes everything, as a plain loop would
        lastQuery_ = skip;
        auto it = known_.find(skip);
        if (it != known_.end()) return it->second;
    }
    int first = L;  // the model with `skipped` equals the full model before this block
    for (int i : skipped) first = std::min(first, i);
    int agree = -1;  // ... and the base model before this block
    if (!base_.empty()) {
        agree = L;
        for (int i = 0; i < L; ++i)
            if (skip[i] != base_[i]) {
                agree = i;
                break;
            }
    }
    const bool useBase = agree > first;
    const bool record = keepStreams_;  // this set's block inputs, for keepLast()
    lastMask_.clear();
    last_.clear();
    GaussianEntropy h;
    for (size_t b = 0; b < batches_.size(); ++b) {
        if (cancel_) cancel_->throwIfCancelled();
        torch::Tensor x;
        int start;
        if (o_.cache) {
            const int slot = std::min(useBase ? agree : first, L - 1) / stride_;
            start = slot * stride_;
            const auto& src = useBase ? base_cache_[b] : cache_[b];
            x = src[slot];
            if (record) last_.emplace_back(src.begin(), src.begin() + slot);
        } else {
            start = 0;
            x = m_.embed(batches_[b]);
        }
        for (int i = start; i < L; ++i) {  // block by block: the same operations as one runBlocks call
            if (record && i % stride_ == 0) last_.back().push_back(x);
            x = m_.runBlocks(x, i, i + 1, &skip);
        }
        h.add(feature(x));
    }
    if (record) lastMask_ = skip;
    ++evaluations_;
    const double e = h.entropy();
    if (o_.cache) known_[skip] = e;
    return e;
}

std::vector<double> singleTransfer(TransferEntropy& te, const StepFn& step) {
    const auto cand = te.candidates();
    std::vector<double> out(te.depth(), NAN);
    long long done = 0;
    for (int c : cand) {
        out[c] = te.T({c});
        if (step) step(++done, static_cast<long long>(cand.size()));
    }
    return out;
}

std::vector<std::vector<double>> pairwiseTransfer(TransferEntropy& te, const StepFn& step) {
    const auto cand = te.candidates();
    const int L = te.depth();
    std::vector<std::vector<double>> m(L, std::vector<double>(L, NAN));
    const long long total = static_cast<long long>(cand.size() * (cand.size() + 1) / 2);
    long long done = 0;
    for (size_t a = 0; a < cand.size(); ++a)
        for (size_t b = a; b < cand.size(); ++b) {
            const int i = cand[a], j = cand[b];
            m[i][j] = m[j][i] = (i == j) ? te.T({i}) : te.T({i, j});
            if (step) step(++done, total);
        }
    return m;
}

}  // namespace dilute::analysis
