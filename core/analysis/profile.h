#pragma once
// The entropy profile (SPEC section 2): per block the attention-branch entropy, per block and
// head the entropy before proj, the MLP-branch entropy, and the output entropy, from one
// forward pass per calibration batch through the model's feature taps.
#include <functional>
#include <string>
#include <vector>

#include "analysis/entropy.h"
#include "analysis/results.h"
#include "model/vit.h"
#include "util/cancel.h"

#include "data/dataset.h"

namespace dilute::data {
struct SkipReport;
}

namespace dilute::analysis {

EntropyProfile entropyProfile(model::VisionTransformerImpl& m, const std::vector<torch::Tensor>& batches,
                              const std::string& output = "cls", const CancelToken* cancel = nullptr,
                              const std::function<void(long long, long long)>& step = {});

/// The profile's accumulation, one batch's taps at a time (entropyProfile is a loop over it):
/// analyze feeds it from TransferEntropy's first pass, which runs the same full model over the
/// same batches, so the profile costs no pass of its own.
class ProfileAccumulator {
public:
    ProfileAccumulator(const model::VisionTransformerImpl& m, std::string output = "cls");
    /// One batch's taps (blocks recorded, cls and, for output "logits", logits filled in).
    void add(const model::FeatureTaps& taps);
    EntropyProfile finish() const;

private:
    int depth_, heads_, embed_dim_, head_dim_;
    std::string output_;
    std::vector<GaussianEntropy> attn_, head_, mlp_;
    GaussianEntropy out_;
};

/// Refuses (dilute::Error) to hold `n` preprocessed images of the model's input size in memory
/// when they would take more than half the machine's memory; `option` names the setting to lower.
void checkImagesFit(size_t n, const model::ViTConfig& cfg, const std::string& what, const std::string& option);

/// The images of `ds` with the model's eval transform, as batches on `device` (and their labels
/// in `labels`, when given). Undecodable images are skipped; `skipped` receives the report.
std::vector<torch::Tensor> loadImages(const model::ViTConfig& cfg, const data::DatasetPtr& ds, int batch, int workers,
                                      const std::string& device, const CancelToken* cancel = nullptr,
                                      data::SkipReport* skipped = nullptr,
                                      std::vector<torch::Tensor>* labels = nullptr);

/// `n` images of `uri`/`split` with the model's eval transform, as batches on `device`: the first
/// n (order "first") or a class-stratified sample drawn with `seed` (order "stratified", whose
/// per-class counts go to `perClass`). Undecodable images are skipped; `skipped` (optional)
/// receives the loader's report.
std::vector<torch::Tensor> loadCalibration(const model::ViTConfig& cfg, const std::string& uri,
                                           const std::string& split, size_t n, int batch, int workers,
                                           const std::string& device, const CancelToken* cancel = nullptr,
                                           data::SkipReport* skipped = nullptr, const std::string& order = "first",
                                           uint64_t seed = 0, std::vector<size_t>* perClass = nullptr);

}  // namespace dilute::analysis
