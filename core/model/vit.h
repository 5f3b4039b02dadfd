#pragma once
// timm-compatible pre-norm Vision Transformer and its family (SPEC sections 1 and 1b): one
// constructor, many records (model::ViTConfig). Every register_module / register_parameter name
// equals the timm key segment, so named_parameters() is the timm state dict.
#include <torch/nn/modules/container/modulelist.h>

#include <vector>

#include "model/block.h"

namespace dilute::model {

class VisionTransformerImpl : public torch::nn::Module {
public:
    explicit VisionTransformerImpl(ViTConfig cfg);

    torch::Tensor forward(const torch::Tensor& img, FeatureTaps* taps = nullptr);
    /// The pieces of forward, for prefix caching: tokens -> blocks [from, to) -> feature -> logits.
    torch::Tensor embed(const torch::Tensor& img);
    torch::Tensor runBlocks(torch::Tensor x, int from, int to, const std::vector<bool>* skip = nullptr,
                            FeatureTaps* taps = nullptr);
    /// The feature the head sees, [B, featureDim]: final norm, pooling (class token or the mean of
    /// the patch tokens), fc_norm; a distilled model's CLS and distillation features side by side.
    torch::Tensor feature(const torch::Tensor& x);
    /// head(feature); distilled: (head(cls) + head_dist(dist)) / 2; without a head: the feature.
    torch::Tensor classify(const torch::Tensor& feature);

    const ViTConfig& config() const { return cfg_; }
    int depth() const { return static_cast<int>(blocks_.size()); }
    Block block(int i) const;
    std::vector<int> removedBlocks() const;
    bool folded() const { return folded_; }
    /// Removes the attention of the given blocks (SPEC section 5). With `fold`, the doubling is
    /// folded into later output Linears so every residual scale is 1.
    void removeAttention(const std::vector<int>& blocks, bool fold);
    /// Folds the doubling of already-removed blocks (no-op when already folded).
    void fold();
    void markFolded(bool f) { folded_ = f; }  // used by the loader for self-describing files
    /// Timm initialisation for training from scratch (SPEC section 1).
    void initWeights(uint64_t seed);
    void setDropPath(double rate);

    torch::Tensor cls_token, reg_token, dist_token, pos_embed;  // undefined when the member has none
    PatchEmbed patch_embed{nullptr};
    torch::nn::LayerNorm norm_pre{nullptr};  // pre_norm only
    torch::nn::ModuleList blocks{nullptr};
    torch::nn::LayerNorm norm{nullptr}, fc_norm{nullptr};  // one of the two (fc_norm: after pooling)
    torch::nn::Linear head{nullptr}, head_dist{nullptr};   // none without classes; head_dist when distilled

private:
    ViTConfig cfg_;
    std::vector<Block> blocks_;
    bool folded_ = false;
};
TORCH_MODULE(VisionTransformer);

/// Builds a model for `cfg`, with the attention of `removed` blocks removed (unfolded unless `folded`).
VisionTransformer buildModel(const ViTConfig& cfg, const std::vector<int>& removed = {}, bool folded = false);

}  // namespace dilute::model
