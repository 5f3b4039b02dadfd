#include "model/block.h"

#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <cstdlib>

#include "model/kernels.h"
#include "util/error.h"
#include "util/torchcompat.h"

namespace dilute::model {

const char* blockModeName(BlockMode m) {
    switch (m) {
        case BlockMode::Full: return "full";
        case BlockMode::Diluted: return "diluted";
        case BlockMode::Removed: return "removed";
    }
    return "?";
}

torch::nn::LayerNorm makeNorm(int dim, double eps) {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps));
}

namespace {
bool envIsZero(const char* name) {
    const char* v = std::getenv(name);
    return v && std::string(v) == "0";
}

// The Linear's forward (then GELU, with `gelu`), or the row-split kernel for CPU inference
// (model/kernels.h), which applies the GELU chunk by chunk.
torch::Tensor linearForward(torch::nn::Linear& l, const torch::Tensor& x, bool gelu = false) {
    if (kernels::linearApplies(x, l->weight)) return kernels::linear(x, l->weight, l->bias, gelu);
    return gelu ? torch::gelu(l->forward(x)) : l->forward(x);
}

// On where LibTorch has the fused kernel, unless DILUTE_FUSED_ATTENTION=0 (the explicit path, to
// compare speed or numerics: packaging/gpu-check.sh).
std::atomic<bool>& fusedFlag() {
    static std::atomic<bool> on{compat::hasFusedAttention() && !envIsZero("DILUTE_FUSED_ATTENTION")};
    return on;
}
}  // namespace

bool fusedAttentionAvailable() { return compat::hasFusedAttention(); }
void setFusedAttention(bool on) { fusedFlag() = on && fusedAttentionAvailable(); }
bool fusedAttention() { return fusedFlag(); }

PatchEmbedImpl::PatchEmbedImpl(int in_chans, int dim, int patch, bool bias) {
    proj = register_module("proj",
                           torch::nn::Conv2d(torch::nn::Conv2dOptions(in_chans, dim, patch).stride(patch).bias(bias)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& img) {
    return proj->forward(img).flatten(2).transpose(1, 2);
}

AttentionImpl::AttentionImpl(const ViTConfig& cfg) : num_heads(cfg.num_heads) {
    const int dim = cfg.embed_dim;
    qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(cfg.qkv_bias)));
    if (cfg.qk_norm) {
        q_norm = register_module("q_norm", makeNorm(cfg.headDim(), cfg.norm_eps));
        k_norm = register_module("k_norm", makeNorm(cfg.headDim(), cfg.norm_eps));
    }
    proj = register_module("proj", torch::nn::Linear(dim, dim));
}

namespace {
// softmax(q k^T / sqrt(d)) v with LibTorch's operators, [B, N, 3C] -> [B, N, C]; q and k through
// their LayerNorms first when given (qk_norm); `mayFuse`: no caller needs the explicit path, so
// the fused kernel may run where there is one; `probs` receives the softmax [B,H,N,N].
torch::Tensor atenAttention(const torch::Tensor& fused, int64_t heads, bool mayFuse, torch::nn::LayerNorm& qn,
                            torch::nn::LayerNorm& kn, torch::Tensor* probs) {
    const auto B = fused.size(0), N = fused.size(1), C = fused.size(2) / 3;
    const auto hd = C / heads;
    auto qkv_out = fused.reshape({B, N, 3, heads, hd}).permute({2, 0, 3, 1, 4});
    auto q = qkv_out[0], k = qkv_out[1], v = qkv_out[2];
    if (qn) {
        q = qn->forward(q);
        k = kn->forward(k);
    }
    torch::Tensor out;
    if (mayFuse && fusedFlag().load(std::memory_order_relaxed)) {
        out = compat::fusedAttention(q, k, v);  // the same softmax(q k^T / sqrt(d)) v, fused
    } else {
        auto attn = torch::matmul(q * (1.0 / std::sqrt(static_cast<double>(hd))), k.transpose(-2, -1)).softmax(-1);
        if (probs) *probs = attn;
        out = torch::matmul(attn, v);
    }
    return out.transpose(1, 2).reshape({B, N, C});
}
}  // namespace

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, torch::Tensor* pre_proj, torch::Tensor* probs) {
    auto fused = linearForward(qkv, x);
    // CPU inference: the kernel (no permutes, no [B,H,N,N] tensor); elsewhere LibTorch's operators.
    auto out = !q_norm && !probs && kernels::attentionApplies(fused)
                   ? kernels::attention(fused, static_cast<int>(num_heads))
                   : atenAttention(fused, num_heads, /*mayFuse=*/!pre_proj && !probs, q_norm, k_norm, probs);
    if (pre_proj) *pre_proj = out;
    return linearForward(proj, out);
}

MlpImpl::MlpImpl(int dim, int hidden) {
    fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
    return linearForward(fc2, linearForward(fc1, x, /*gelu=*/true));
}

LayerScaleImpl::LayerScaleImpl(int dim, double init) { gamma = register_parameter("gamma", torch::full({dim}, init)); }

BlockImpl::BlockImpl(const ViTConfig& cfg, double drop_path) : drop_path_(drop_path) {
    const int D = cfg.embed_dim;
    norm1 = register_module("norm1", makeNorm(D, cfg.norm_eps));
    attn = register_module("attn", Attention(cfg));
    if (cfg.layerScale()) ls1 = register_module("ls1", LayerScale(D, cfg.init_values));
    norm2 = register_module("norm2", makeNorm(D, cfg.norm_eps));
    mlp = register_module("mlp", Mlp(D, cfg.hiddenDim()));
    if (cfg.layerScale()) ls2 = register_module("ls2", LayerScale(D, cfg.init_values));
}

void BlockImpl::setLambda(double lambda) {
    if (mode_ == BlockMode::Removed) throw Error("cannot set lambda of a block whose attention was removed");
    if (!(lambda >= 0.0 && lambda <= 1.0)) throw Error("lambda must be in [0, 1], got " + std::to_string(lambda));
    lambda_ = lambda;
    mode_ = lambda == 1.0 ? BlockMode::Full : BlockMode::Diluted;
}

void BlockImpl::removeAttention(double scale) {
    if (mode_ == BlockMode::Removed) return;
    unregister_module("norm1");
    unregister_module("attn");
    if (ls1) unregister_module("ls1");
    norm1 = nullptr;
    attn = nullptr;
    ls1 = nullptr;
    mode_ = BlockMode::Removed;
    lambda_ = 0.0;
    residual_scale_ = scale;
}

torch::Tensor BlockImpl::dropPath(const torch::Tensor& x) const {
    if (!is_training() || drop_path_ <= 0.0) return x;
    const double keep = 1.0 - drop_path_;
    auto mask = torch::empty({x.size(0), 1, 1}, x.options()).bernoulli_(keep);
    return x * mask / keep;
}

torch::Tensor BlockImpl::attentionBranch(const torch::Tensor& x, torch::Tensor* pre_proj, torch::Tensor* probs) {
    auto a = attn->forward(norm1->forward(x), pre_proj, probs);
    return ls1 ? ls1->forward(a) : a;
}

torch::Tensor BlockImpl::mlpBranch(const torch::Tensor& x) {
    auto m = mlp->forward(norm2->forward(x));
    return ls2 ? ls2->forward(m) : m;
}

// The block's weights as kernels::block reads them (its whole forward in one parallel region);
// LayerScale is folded into the output Linears it follows (gamma (W x + b) = (gamma W) x + gamma b),
// so the kernel's branch outputs are the branches as added to the residual stream.
static kernels::BlockWeights kernelWeights(const BlockImpl& b, bool attends) {
    kernels::BlockWeights w;
    auto scaled = [](const torch::Tensor& t, const LayerScale& ls, bool matrix) {
        if (!ls || !t.defined()) return t;
        return (matrix ? t * ls->gamma.unsqueeze(1) : t * ls->gamma).contiguous();
    };
    if (attends) {
        w.norm1_w = b.norm1->weight;
        w.norm1_b = b.norm1->bias;
        w.eps1 = b.norm1->options.eps();
        w.qkv_w = b.attn->qkv->weight;
        w.qkv_b = b.attn->qkv->bias;
        w.proj_w = scaled(b.attn->proj->weight, b.ls1, true);
        w.proj_b = scaled(b.attn->proj->bias, b.ls1, false);
        w.heads = static_cast<int>(b.attn->num_heads);
        if (b.mode() == BlockMode::Diluted) {
            w.keep = 2.0 - b.lambda();
            w.mix = b.lambda();
        }
    } else {
        // As forward's branches: removed (its residual scale), fully diluted (x 2), skipped (identity).
        w.keep = b.mode() == BlockMode::Removed                        ? b.residualScale()
                 : b.mode() == BlockMode::Diluted && b.lambda() == 0.0 ? 2.0
                                                                       : 1.0;
    }
    w.norm2_w = b.norm2->weight;
    w.norm2_b = b.norm2->bias;
    w.eps2 = b.norm2->options.eps();
    w.fc1_w = b.mlp->fc1->weight;
    w.fc1_b = b.mlp->fc1->bias;
    w.fc2_w = scaled(b.mlp->fc2->weight, b.ls2, true);
    w.fc2_b = scaled(b.mlp->fc2->bias, b.ls2, false);
    return w;
}

bool BlockImpl::kernelForward(torch::Tensor& x, FeatureTaps* taps, bool skip_attn) {
    if ((is_training() && drop_path_ > 0.0) || !kernels::enabled() || x.size(-1) != norm2->weight.size(0)) return false;
    const bool attends = !skip_attn && (mode_ == BlockMode::Full || (mode_ == BlockMode::Diluted && lambda_ != 0.0));
    if (attends && attn->q_norm) return false;                        // qk_norm: the kernel has no per-head LayerNorm
    if ((ls1 || ls2) && torch::GradMode::is_enabled()) return false;  // no scaled copies where it cannot run
    const auto w = kernelWeights(*this, attends);
    if (!kernels::blockApplies(x, w)) return false;
    const bool tap = taps && taps->blocks;
    kernels::BlockTaps bt;
    x = kernels::block(x, w, tap ? &bt : nullptr);
    if (tap) {
        taps->attn.push_back(bt.attn);
        taps->attn_heads.push_back(bt.attn_heads);
        taps->mlp.push_back(bt.mlp);
    }
    return true;
}

torch::Tensor BlockImpl::forward(torch::Tensor x, FeatureTaps* taps, bool skip_attn) {
    const bool tap = taps && taps->blocks;
    const bool probs = taps && taps->probs;
    if (!probs && kernelForward(x, taps, skip_attn)) return x;  // CPU inference, the whole block in one region
    // With `probs`, a block diluted to lambda = 0 still computes its attention (x 0: the same sum).
    const bool attends =
        !skip_attn && (mode_ == BlockMode::Full || (mode_ == BlockMode::Diluted && (lambda_ != 0.0 || probs)));
    if (!attends) {
        // Removed (its residual scale), fully diluted (x 2: the attention contributes nothing, so it
        // is not computed, SPEC section 4) or skipped for T(S) (identity).
        const double keep = mode_ == BlockMode::Removed                     ? residual_scale_
                            : mode_ == BlockMode::Diluted && lambda_ == 0.0 ? 2.0
                                                                            : 1.0;
        if (keep != 1.0) x = x * keep;
        if (tap) {
            taps->attn.emplace_back();
            taps->attn_heads.emplace_back();
        }
        if (probs) taps->attn_probs.emplace_back();
    } else {
        torch::Tensor pre, p;
        auto a = attentionBranch(x, tap ? &pre : nullptr, probs ? &p : nullptr);
        if (tap) {
            taps->attn.push_back(a);
            taps->attn_heads.push_back(pre);
        }
        if (probs) taps->attn_probs.push_back(p);
        if (mode_ == BlockMode::Full)
            x = x + dropPath(a);
        else
            x = x * (2.0 - lambda_) + dropPath(a) * lambda_;
    }
    auto m = mlpBranch(x);
    if (tap) taps->mlp.push_back(m);
    return x + dropPath(m);
}

}  // namespace dilute::model
