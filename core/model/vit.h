#pragma once
// timm-compatible pre-norm Vision Transformer (SPEC section 1). Every register_module /
// register_parameter name equals the timm key segment, so named_parameters() is the timm state dict.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "model/preset.h"

namespace dilute::model {

/// How a block computes its attention path (SPEC sections 3, 4, 5).
enum class BlockMode {
    Full,     // x = x + Attn(LN1 x)
    Diluted,  // x = (2 - lambda) x + lambda Attn(LN1 x)
    Removed,  // no norm1/attn parameters: x = s * x, s = 2 (unfolded) or 1 (folded)
};
const char* blockModeName(BlockMode m);

/// Intermediate features handed back by one forward pass (no second pass needed).
struct FeatureTaps {
    bool blocks = true;                     // record per-block branch outputs
    std::vector<torch::Tensor> attn;        // [B,N,D] attention branch output (after proj), undefined if none
    std::vector<torch::Tensor> attn_heads;  // [B,N,D] attention output before proj (head-major channels)
    std::vector<torch::Tensor> mlp;         // [B,N,D] MLP branch output
    torch::Tensor cls;                      // [B,D] LN_final(x)[:,0]
    torch::Tensor logits;                   // [B,classes]
};

class PatchEmbedImpl : public torch::nn::Module {
public:
    PatchEmbedImpl(int in_chans, int dim, int patch);
    torch::Tensor forward(const torch::Tensor& img);  // [B,C,H,W] -> [B,P,D]
    torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

/// Fused attention (at::scaled_dot_product_attention: flash / memory-efficient kernels on CUDA)
/// for the plain forward and training, when LibTorch >= 2.0. The explicit path (softmax(q k^T /
/// sqrt(d)) v) stays for the analysis taps and for LibTorch 1.13. On by default where available.
bool fusedAttentionAvailable();
void setFusedAttention(bool on);
bool fusedAttention();

class AttentionImpl : public torch::nn::Module {
public:
    AttentionImpl(int dim, int heads);
    torch::Tensor forward(const torch::Tensor& x, torch::Tensor* pre_proj = nullptr);
    torch::nn::Linear qkv{nullptr}, proj{nullptr};
    int num_heads;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
public:
    MlpImpl(int dim, int hidden);
    torch::Tensor forward(const torch::Tensor& x);
    torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

class BlockImpl : public torch::nn::Module {
public:
    BlockImpl(int dim, int heads, int hidden, double drop_path);
    /// `skip_attn`: selection-time identity on the attention path (SPEC section 3), no state change.
    torch::Tensor forward(torch::Tensor x, FeatureTaps* taps = nullptr, bool skip_attn = false);

    BlockMode mode() const { return mode_; }
    double lambda() const { return lambda_; }
    double residualScale() const { return residual_scale_; }
    bool hasAttention() const { return static_cast<bool>(attn); }
    /// Full (lambda = 1) or Diluted (0 <= lambda < 1). Not allowed once removed.
    void setLambda(double lambda);
    /// Drops norm1 and attn for good; the residual is multiplied by `scale` (2 unless folded).
    void removeAttention(double scale = 2.0);
    void setResidualScale(double s) { residual_scale_ = s; }
    void setDropPath(double p) { drop_path_ = p; }

    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    Attention attn{nullptr};
    Mlp mlp{nullptr};

private:
    torch::Tensor dropPath(const torch::Tensor& x) const;
    BlockMode mode_ = BlockMode::Full;
    double lambda_ = 1.0;
    double residual_scale_ = 2.0;
    double drop_path_ = 0.0;
};
TORCH_MODULE(Block);

class VisionTransformerImpl : public torch::nn::Module {
public:
    explicit VisionTransformerImpl(ViTConfig cfg);

    torch::Tensor forward(const torch::Tensor& img, FeatureTaps* taps = nullptr);
    /// The pieces of forward, for prefix caching: tokens -> blocks [from, to) -> CLS feature -> logits.
    torch::Tensor embed(const torch::Tensor& img);
    torch::Tensor runBlocks(torch::Tensor x, int from, int to, const std::vector<bool>* skip = nullptr,
                            FeatureTaps* taps = nullptr);
    torch::Tensor clsFeature(const torch::Tensor& x);  // LN_final(x)[:,0]
    torch::Tensor classify(const torch::Tensor& cls) { return head->forward(cls); }

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

    torch::Tensor cls_token, pos_embed;
    PatchEmbed patch_embed{nullptr};
    torch::nn::ModuleList blocks{nullptr};
    torch::nn::LayerNorm norm{nullptr};
    torch::nn::Linear head{nullptr};

private:
    ViTConfig cfg_;
    std::vector<Block> blocks_;
    bool folded_ = false;
};
TORCH_MODULE(VisionTransformer);

/// Builds a model for `cfg`, with the attention of `removed` blocks removed (unfolded unless `folded`).
VisionTransformer buildModel(const ViTConfig& cfg, const std::vector<int>& removed = {}, bool folded = false);

}  // namespace dilute::model
