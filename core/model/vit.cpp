#include "model/vit.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <atomic>
#include <cmath>
#include <optional>

#if TORCH_VERSION_MAJOR >= 2
#define DILUTE_HAVE_SDPA 1
#else
#define DILUTE_HAVE_SDPA 0
#endif

#include "model/kernels.h"
#include "util/error.h"

namespace dilute::model {
namespace F = torch::nn::functional;

const char* blockModeName(BlockMode m) {
    switch (m) {
        case BlockMode::Full: return "full";
        case BlockMode::Diluted: return "diluted";
        case BlockMode::Removed: return "removed";
    }
    return "?";
}

namespace {
// The Linear's forward (then GELU, with `gelu`), or the row-split kernel for CPU inference
// (model/kernels.h), which applies the GELU chunk by chunk.
torch::Tensor linearForward(torch::nn::Linear& l, const torch::Tensor& x, bool gelu = false) {
    if (kernels::linearApplies(x, l->weight)) return kernels::linear(x, l->weight, l->bias, gelu);
    return gelu ? torch::gelu(l->forward(x)) : l->forward(x);
}
}  // namespace

PatchEmbedImpl::PatchEmbedImpl(int in_chans, int dim, int patch) {
    proj = register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_chans, dim, patch).stride(patch)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& img) {
    return proj->forward(img).flatten(2).transpose(1, 2);
}

AttentionImpl::AttentionImpl(int dim, int heads) : num_heads(heads) {
    qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(true)));
    proj = register_module("proj", torch::nn::Linear(dim, dim));
}

namespace {
std::atomic<bool>& fusedFlag() {
    static std::atomic<bool> on{DILUTE_HAVE_SDPA != 0};
    return on;
}
}  // namespace

bool fusedAttentionAvailable() { return DILUTE_HAVE_SDPA != 0; }
void setFusedAttention(bool on) { fusedFlag() = on && fusedAttentionAvailable(); }
bool fusedAttention() { return fusedFlag(); }

namespace {
// softmax(q k^T / sqrt(d)) v with LibTorch's operators, [B, N, 3C] -> [B, N, C]; `mayFuse`: no
// caller needs the explicit path, so the fused kernel may run where there is one.
torch::Tensor atenAttention(const torch::Tensor& fused, int64_t heads, bool mayFuse) {
    const auto B = fused.size(0), N = fused.size(1), C = fused.size(2) / 3;
    const auto hd = C / heads;
    auto qkv_out = fused.reshape({B, N, 3, heads, hd}).permute({2, 0, 3, 1, 4});
    auto q = qkv_out[0], k = qkv_out[1], v = qkv_out[2];
    torch::Tensor out;
#if DILUTE_HAVE_SDPA
    if (mayFuse && fusedFlag().load(std::memory_order_relaxed)) {
        out = at::scaled_dot_product_attention(q, k, v);  // the same softmax(q k^T / sqrt(d)) v, fused
    } else
#endif
    {
        (void)mayFuse;
        auto attn = torch::matmul(q * (1.0 / std::sqrt(static_cast<double>(hd))), k.transpose(-2, -1)).softmax(-1);
        out = torch::matmul(attn, v);
    }
    return out.transpose(1, 2).reshape({B, N, C});
}
}  // namespace

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, torch::Tensor* pre_proj) {
    auto fused = linearForward(qkv, x);
    // CPU inference: the kernel (no permutes, no [B,H,N,N] tensor); elsewhere LibTorch's operators.
    auto out = kernels::attentionApplies(fused) ? kernels::attention(fused, static_cast<int>(num_heads))
                                                : atenAttention(fused, num_heads, /*mayFuse=*/!pre_proj);
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

static torch::nn::LayerNorm makeNorm(int dim) {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6));
}

BlockImpl::BlockImpl(int dim, int heads, int hidden, double drop_path) : drop_path_(drop_path) {
    norm1 = register_module("norm1", makeNorm(dim));
    attn = register_module("attn", Attention(dim, heads));
    norm2 = register_module("norm2", makeNorm(dim));
    mlp = register_module("mlp", Mlp(dim, hidden));
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
    norm1 = nullptr;
    attn = nullptr;
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

// CPU inference where the blocks run in kernels::block (the kernels on, more than one thread).
static bool wholeBlockInference(const torch::Tensor& t) {
    return kernels::enabled() && t.device().is_cpu() && !torch::GradMode::is_enabled() && at::get_num_threads() > 1;
}

// The block's weights as kernels::block reads them (its whole forward in one parallel region).
static kernels::BlockWeights kernelWeights(const BlockImpl& b, bool skip_attn) {
    kernels::BlockWeights w;
    const bool attends = !skip_attn && (b.mode() == BlockMode::Full || (b.mode() == BlockMode::Diluted && b.lambda() != 0.0));
    if (attends) {
        w.norm1_w = b.norm1->weight;
        w.norm1_b = b.norm1->bias;
        w.eps1 = b.norm1->options.eps();
        w.qkv_w = b.attn->qkv->weight;
        w.qkv_b = b.attn->qkv->bias;
        w.proj_w = b.attn->proj->weight;
        w.proj_b = b.attn->proj->bias;
        w.heads = static_cast<int>(b.attn->num_heads);
        if (b.mode() == BlockMode::Diluted) {
            w.keep = 2.0 - b.lambda();
            w.mix = b.lambda();
        }
    } else {
        // As forward's branches: removed (its residual scale), fully diluted (x 2), skipped (identity).
        w.keep = b.mode() == BlockMode::Removed                              ? b.residualScale()
                 : b.mode() == BlockMode::Diluted && b.lambda() == 0.0 ? 2.0
                                                                          : 1.0;
    }
    w.norm2_w = b.norm2->weight;
    w.norm2_b = b.norm2->bias;
    w.eps2 = b.norm2->options.eps();
    w.fc1_w = b.mlp->fc1->weight;
    w.fc1_b = b.mlp->fc1->bias;
    w.fc2_w = b.mlp->fc2->weight;
    w.fc2_b = b.mlp->fc2->bias;
    return w;
}

torch::Tensor BlockImpl::forward(torch::Tensor x, FeatureTaps* taps, bool skip_attn) {
    const bool tap = taps && taps->blocks;
    // CPU inference: the whole block in one parallel region (model/kernels.h), taps included.
    if ((!is_training() || drop_path_ <= 0.0) && kernels::enabled() && x.size(-1) == norm2->weight.size(0)) {
        const auto w = kernelWeights(*this, skip_attn);
        if (kernels::blockApplies(x, w)) {
            kernels::BlockTaps bt;
            auto out = kernels::block(x, w, tap ? &bt : nullptr);
            if (tap) {
                taps->attn.push_back(bt.attn);
                taps->attn_heads.push_back(bt.attn_heads);
                taps->mlp.push_back(bt.mlp);
            }
            return out;
        }
    }
    if (mode_ == BlockMode::Removed) {
        if (residual_scale_ != 1.0) x = x * residual_scale_;
        if (tap) {
            taps->attn.emplace_back();
            taps->attn_heads.emplace_back();
        }
    } else if (mode_ == BlockMode::Diluted && lambda_ == 0.0) {
        // Fully diluted: the attention contributes nothing, so it is not computed (SPEC section 4).
        x = x * 2.0;
        if (tap) {
            taps->attn.emplace_back();
            taps->attn_heads.emplace_back();
        }
    } else if (skip_attn) {
        if (tap) {
            taps->attn.emplace_back();
            taps->attn_heads.emplace_back();
        }
    } else {
        torch::Tensor pre;
        auto a = attn->forward(norm1->forward(x), tap ? &pre : nullptr);
        if (tap) {
            taps->attn.push_back(a);
            taps->attn_heads.push_back(pre);
        }
        if (mode_ == BlockMode::Full)
            x = x + dropPath(a);
        else
            x = x * (2.0 - lambda_) + dropPath(a) * lambda_;
    }
    auto m = mlp->forward(norm2->forward(x));
    if (tap) taps->mlp.push_back(m);
    return x + dropPath(m);
}

VisionTransformerImpl::VisionTransformerImpl(ViTConfig cfg) : cfg_(std::move(cfg)) {
    cfg_.validate();
    const int D = cfg_.embed_dim;
    cls_token = register_parameter("cls_token", torch::zeros({1, 1, D}));
    pos_embed = register_parameter("pos_embed", torch::zeros({1, cfg_.numTokens(), D}));
    patch_embed = register_module("patch_embed", PatchEmbed(cfg_.in_chans, D, cfg_.patch_size));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < cfg_.depth; ++i) {
        const double dp = cfg_.depth > 1 ? cfg_.drop_path * i / (cfg_.depth - 1) : 0.0;
        Block b(D, cfg_.num_heads, cfg_.hiddenDim(), dp);
        blocks->push_back(b);
        blocks_.push_back(b);
    }
    norm = register_module("norm", makeNorm(D));
    head = register_module("head", torch::nn::Linear(D, cfg_.num_classes));
}

Block VisionTransformerImpl::block(int i) const {
    if (i < 0 || i >= depth()) throw Error("block index " + std::to_string(i) + " out of range [0, " + std::to_string(depth()) + ")");
    return blocks_[i];
}

torch::Tensor VisionTransformerImpl::embed(const torch::Tensor& img) {
    if (img.dim() != 4 || img.size(1) != cfg_.in_chans || img.size(2) != cfg_.img_size || img.size(3) != cfg_.img_size) {
        std::ostringstream ss;
        ss << "input of shape " << img.sizes() << " does not fit model '" << cfg_.name << "' (expects [B," << cfg_.in_chans
           << "," << cfg_.img_size << "," << cfg_.img_size << "])";
        throw Error(ss.str());
    }
    auto x = patch_embed->forward(img);
    x = torch::cat({cls_token.expand({x.size(0), -1, -1}), x}, 1);
    return x + pos_embed;
}

torch::Tensor VisionTransformerImpl::runBlocks(torch::Tensor x, int from, int to, const std::vector<bool>* skip,
                                               FeatureTaps* taps) {
    for (int i = from; i < to; ++i) x = blocks_[i]->forward(x, taps, skip && (*skip)[i]);
    return x;
}

torch::Tensor VisionTransformerImpl::clsFeature(const torch::Tensor& x) {
    return norm->forward(x.select(1, 0));  // LayerNorm is per token: same as LN(x)[:, 0]
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& img, FeatureTaps* taps) {
    // CPU inference with the blocks in kernels::block: OpenBLAS stays on one thread for the whole
    // pass, the head's product included. A threaded OpenBLAS's workers spin on the cores for a
    // while after each product and stall the next pass's regions (DeiT-S batch 1: mean 66-69 ms
    // with p90 83-101 ms, against 61 ms with p90 63-65 ms). Only then: on the per-operator path
    // OpenBLAS's products differ in the last bits with its thread count, and embed() + runBlocks()
    // (the analysis' prefix caches) must give forward()'s numbers.
    std::optional<kernels::SerialBlas> serial;
    if (wholeBlockInference(img)) serial.emplace();
    auto x = runBlocks(embed(img), 0, depth(), nullptr, taps);
    auto cls = clsFeature(x);
    auto logits = classify(cls);
    if (taps) {
        taps->cls = cls;
        taps->logits = logits;
    }
    return logits;
}

std::vector<int> VisionTransformerImpl::removedBlocks() const {
    std::vector<int> out;
    for (int i = 0; i < depth(); ++i)
        if (blocks_[i]->mode() == BlockMode::Removed) out.push_back(i);
    return out;
}

void VisionTransformerImpl::removeAttention(const std::vector<int>& which, bool do_fold) {
    if (folded_ && !which.empty())
        throw Error("cannot remove more attention from a folded model; remove all blocks at once");
    for (int i : which) block(i)->removeAttention(2.0);
    if (do_fold) fold();
}

void VisionTransformerImpl::fold() {
    if (folded_) return;
    torch::NoGradGuard ng;
    int k = 0;  // removed blocks so far
    for (int i = 0; i < depth(); ++i) {
        auto& b = blocks_[i];
        if (b->mode() == BlockMode::Removed) {
            ++k;
            b->setResidualScale(1.0);
        } else if (k > 0) {
            const double s = std::ldexp(1.0, -k);
            b->attn->proj->weight.mul_(s);
            b->attn->proj->bias.mul_(s);
        }
        if (k > 0) {
            const double s = std::ldexp(1.0, -k);
            b->mlp->fc2->weight.mul_(s);
            b->mlp->fc2->bias.mul_(s);
        }
    }
    folded_ = true;
}

static void truncNormal(torch::Tensor t, double std) {
    t.normal_(0.0, std).clamp_(-2.0, 2.0);  // timm trunc_normal_(std, a=-2, b=2): absolute bounds
}

void VisionTransformerImpl::initWeights(uint64_t seed) {
    torch::NoGradGuard ng;
    torch::manual_seed(seed);
    truncNormal(pos_embed, 0.02);
    cls_token.normal_(0.0, 1e-6);
    for (auto& m : modules(/*include_self=*/false)) {
        if (auto* lin = m->as<torch::nn::Linear>()) {
            truncNormal(lin->weight, 0.02);
            if (lin->bias.defined()) lin->bias.zero_();
        } else if (auto* ln = m->as<torch::nn::LayerNorm>()) {
            ln->weight.fill_(1.0);
            ln->bias.zero_();
        } else if (auto* conv = m->as<torch::nn::Conv2d>()) {
            conv->reset_parameters();
        }
    }
}

void VisionTransformerImpl::setDropPath(double rate) {
    cfg_.drop_path = rate;
    for (int i = 0; i < depth(); ++i) blocks_[i]->setDropPath(depth() > 1 ? rate * i / (depth() - 1) : 0.0);
}

VisionTransformer buildModel(const ViTConfig& cfg, const std::vector<int>& removed, bool folded) {
    VisionTransformer m(cfg);
    // Skeleton for loading: no weight scaling here, the loaded weights are already folded (or not).
    for (int i : removed) m->block(i)->removeAttention(folded ? 1.0 : 2.0);
    m->markFolded(folded && !removed.empty());
    return m;
}

}  // namespace dilute::model
