#pragma once
// Transfer entropy T(S) = H_out(full) - H_out(attention of S skipped) (SPEC section 3), on a
// calibration set held in memory, with prefix caching: the residual stream entering each block
// is cached once per batch, so T(S) only re-runs the blocks from min(S) on; and each set's
// H_out is computed once (analyze asks for T({i}) both for the report and in NOSE's first round).
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "analysis/results.h"
#include "model/vit.h"
#include "util/cancel.h"

namespace dilute::analysis {

struct TransferOptions {
    std::string output = "cls";                   // cls | logits
    bool cache = true;                            // prefix caching (false: the naive reference loop)
    size_t cache_budget_bytes = size_t(6) << 30;  // above it, cache every k-th block input only
};

class TransferEntropy {
public:
    /// `batches`: calibration images, already on the model's device. The constructor runs the
    /// full model once over them; `observe`, when given, receives each batch's taps from that pass
    /// (blocks recorded, cls and logits filled in: what the entropy profile reads, so that analyze
    /// needs no separate profile pass), with `step(done, total)` after each batch.
    TransferEntropy(model::VisionTransformerImpl& m, std::vector<torch::Tensor> batches, TransferOptions o = {},
                    const CancelToken* cancel = nullptr,
                    const std::function<void(const model::FeatureTaps&)>& observe = {},
                    const std::function<void(long long, long long)>& step = {});
    double fullEntropy() const { return h_full_; }
    /// H_out with the attention of `skipped` blocks skipped (remembered per set when caching).
    double outputEntropy(const std::vector<int>& skipped);
    double T(const std::vector<int>& skipped) { return skipped.empty() ? 0.0 : h_full_ - outputEntropy(skipped); }
    /// Caches the residual stream of the model with `base` skipped (greedy search: every
    /// candidate S + {i} then starts at block i). Results stay identical to the naive loop.
    void setBase(const std::vector<int>& base);
    /// Keeps the residual stream of the set last asked for (when it was computed, not
    /// remembered), so that setBase of that same set costs nothing: the greedy search keeps its
    /// best candidate so far. Only when four streams fit the cache budget; else a no-op.
    void keepLast();
    /// Blocks that still have attention (candidates for skipping).
    std::vector<int> candidates() const;
    /// Forward passes over the calibration set so far (a remembered set costs none).
    int evaluations() const { return evaluations_; }
    int depth() const { return m_.depth(); }
    int cacheStride() const { return stride_; }

private:
    torch::Tensor feature(const torch::Tensor& x);

    model::VisionTransformerImpl& m_;
    std::vector<torch::Tensor> batches_;
    TransferOptions o_;
    const CancelToken* cancel_;
    std::vector<std::vector<torch::Tensor>> cache_;       // [batch][block / stride] block inputs, full model
    std::vector<std::vector<torch::Tensor>> base_cache_;  // the same with base_ skipped
    std::vector<bool> base_;
    int stride_ = 1;
    double h_full_ = 0;
    int evaluations_ = 0;
    std::map<std::vector<bool>, double> known_;  // skip mask -> H_out (with o_.cache only)
    bool keepStreams_ = false;                   // room for last_ and kept_ beside the two caches
    std::vector<bool> lastQuery_, lastMask_, keptMask_;
    std::vector<std::vector<torch::Tensor>> last_, kept_;  // block inputs as base_cache_ holds them
};

using StepFn = std::function<void(long long done, long long total)>;

/// The per-block skip flags for runBlocks: true for `blocks`. Throws dilute::Error for a block
/// out of range or one without attention to skip.
std::vector<bool> attentionSkipMask(const model::VisionTransformerImpl& m, const std::vector<int>& blocks);

/// The single-block vector T({i}) (NaN for blocks without attention).
std::vector<double> singleTransfer(TransferEntropy& te, const StepFn& step = {});
/// The matrix T({i,j}) for all pairs, diagonal T({i}).
std::vector<std::vector<double>> pairwiseTransfer(TransferEntropy& te, const StepFn& step = {});

}  // namespace dilute::analysis
