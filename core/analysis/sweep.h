#pragma once
// What a block subset does to the model without any training ("zero-shot"): top-1 with the
// attention of the subset skipped, and the exhaustive sweep over every K-subset, which gives
// both T(S) on the calibration set and the zero-shot top-1 on a labelled set for each subset.
#include <functional>
#include <string>
#include <vector>

#include "analysis/transfer.h"
#include "model/vit.h"
#include "util/cancel.h"

namespace dilute::analysis {

/// Images and their labels, batch by batch, already on the model's device.
struct LabeledSet {
    std::vector<torch::Tensor> images, labels;
    long long size() const;
};

/// `n` images of `uri`/`split` (0: all; fewer than the split: a class-stratified sample drawn
/// with `seed`) with the model's eval transform, and their labels.
LabeledSet loadLabeled(const model::ViTConfig& cfg, const std::string& uri, const std::string& split, size_t n,
                       uint64_t seed, int batch, int workers, const std::string& device,
                       const CancelToken* cancel = nullptr, std::string* skippedMessage = nullptr);

/// Top-1 (percent) of the model with the attention of `skipped` blocks skipped (empty: the full model).
double skippedTop1(model::VisionTransformerImpl& m, const LabeledSet& set, const std::vector<int>& skipped,
                   const CancelToken* cancel = nullptr);

struct SubsetScore {
    std::vector<int> blocks;
    double t = 0;     // T(S) on the calibration set
    double top1 = 0;  // zero-shot top-1 (percent) on the labelled set
};

/// C(n, k), saturating at the largest long long.
long long binomial(int n, int k);

/// Residual-stream bytes the sweep holds at once for these sets (to refuse before allocating).
size_t sweepBytes(const model::ViTConfig& cfg, long long images, int k);

/// Every K-subset of `candidates`, in lexicographic order, depth-first: the residual stream
/// entering the next possible choice is kept on a stack, so each block runs once per prefix
/// instead of once per subset. T(S) = hFull - H_out(S skipped) on `calib` (output "cls" or
/// "logits", as TransferEntropy computes it, bitwise the same on CPU) and the top-1 on `eval`.
std::vector<SubsetScore> sweepSubsets(model::VisionTransformerImpl& m, const std::vector<torch::Tensor>& calib,
                                      double hFull, const std::string& output, const LabeledSet& eval,
                                      const std::vector<int>& candidates, int k, const CancelToken* cancel = nullptr,
                                      const StepFn& step = {});

/// Spearman's rank correlation (ties take their average rank); NaN when either side is constant
/// or there are fewer than 2 pairs.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace dilute::analysis
