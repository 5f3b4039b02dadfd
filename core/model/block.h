#pragma once
// The pieces of a timm ViT block (SPEC sections 1 and 1b): patch embedding, attention (optional
// qkv bias, optional qk_norm), MLP, LayerScale and the pre-norm block with its modes. Every
// register_module / register_parameter name equals the timm key segment.
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "model/preset.h"

namespace dilute::model {

/// How a block computes its attention path (SPEC sections 3, 4, 5).
enum class BlockMode {
    Full,     // x = x + ls1 Attn(LN1 x)
    Diluted,  // x = (2 - lambda) x + lambda ls1 Attn(LN1 x)
    Removed,  // no norm1/attn/ls1 parameters: x = s * x, s = 2 (unfolded) or 1 (folded)
};
const char* blockModeName(BlockMode m);

/// Intermediate features handed back by one forward pass (no second pass needed).
struct FeatureTaps {
    bool blocks = true;                     // record per-block branch outputs
    bool probs = false;                     // also the attention probabilities (explicit path, no kernel)
    std::vector<torch::Tensor> attn;        // [B,N,D] attention branch output (LayerScale included), undefined if none
    std::vector<torch::Tensor> attn_heads;  // [B,N,D] attention output before proj (head-major channels)
    std::vector<torch::Tensor> mlp;         // [B,N,D] MLP branch output (LayerScale included)
    /// With `probs`: [B,H,N,N] softmax(q k^T / sqrt(d)) per block, computed even where dilution
    /// multiplies the branch by lambda = 0; undefined for a removed (or skipped) block.
    std::vector<torch::Tensor> attn_probs;
    torch::Tensor feature;  // [B,F] the feature the head sees (ViTConfig::featureDim)
    torch::Tensor logits;   // [B,classes] (the feature itself for a model without head)
};

torch::nn::LayerNorm makeNorm(int dim, double eps);

class PatchEmbedImpl : public torch::nn::Module {
public:
    PatchEmbedImpl(int in_chans, int dim, int patch, bool bias);
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
    explicit AttentionImpl(const ViTConfig& cfg);
    /// `pre_proj`: the heads' output before proj; `probs`: the attention probabilities [B,H,N,N].
    torch::Tensor forward(const torch::Tensor& x, torch::Tensor* pre_proj = nullptr, torch::Tensor* probs = nullptr);
    torch::nn::Linear qkv{nullptr}, proj{nullptr};
    torch::nn::LayerNorm q_norm{nullptr}, k_norm{nullptr};  // qk_norm only
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

/// timm's LayerScale: x * gamma, gamma [D] (key `ls1.gamma` / `ls2.gamma`).
class LayerScaleImpl : public torch::nn::Module {
public:
    LayerScaleImpl(int dim, double init);
    torch::Tensor forward(const torch::Tensor& x) { return x * gamma; }
    torch::Tensor gamma;
};
TORCH_MODULE(LayerScale);

class BlockImpl : public torch::nn::Module {
public:
    BlockImpl(const ViTConfig& cfg, double drop_path);
    /// `skip_attn`: selection-time identity on the attention path (SPEC section 3), no state change.
    torch::Tensor forward(torch::Tensor x, FeatureTaps* taps = nullptr, bool skip_attn = false);

    BlockMode mode() const { return mode_; }
    double lambda() const { return lambda_; }
    double residualScale() const { return residual_scale_; }
    bool hasAttention() const { return static_cast<bool>(attn); }
    /// Full (lambda = 1) or Diluted (0 <= lambda < 1). Not allowed once removed.
    void setLambda(double lambda);
    /// Drops norm1, attn and ls1 for good; the residual is multiplied by `scale` (2 unless folded).
    void removeAttention(double scale = 2.0);
    void setResidualScale(double s) { residual_scale_ = s; }
    void setDropPath(double p) { drop_path_ = p; }
    /// The attention branch as added to the residual stream: ls1(attn(norm1(x))).
    torch::Tensor attentionBranch(const torch::Tensor& x, torch::Tensor* pre_proj = nullptr,
                                  torch::Tensor* probs = nullptr);
    torch::Tensor mlpBranch(const torch::Tensor& x);

    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    Attention attn{nullptr};
    Mlp mlp{nullptr};
    LayerScale ls1{nullptr}, ls2{nullptr};  // LayerScale only

private:
    torch::Tensor dropPath(const torch::Tensor& x) const;
    bool kernelForward(torch::Tensor& x, FeatureTaps* taps, bool skip_attn);
    BlockMode mode_ = BlockMode::Full;
    double lambda_ = 1.0;
    double residual_scale_ = 2.0;
    double drop_path_ = 0.0;
};
TORCH_MODULE(Block);

}  // namespace dilute::model
