#include "model/vit.h"

#include <torch/torch.h>

#include <cmath>
#include <optional>
#include <sstream>

#include "model/kernels.h"
#include "util/error.h"

namespace dilute::model {

// CPU inference where the blocks run in kernels::block (the kernels on, more than one thread).
static bool wholeBlockInference(const torch::Tensor& t) {
    return kernels::enabled() && t.device().is_cpu() && !torch::GradMode::is_enabled() && at::get_num_threads() > 1;
}

VisionTransformerImpl::VisionTransformerImpl(ViTConfig cfg) : cfg_(std::move(cfg)) {
    cfg_.validate();
    const int D = cfg_.embed_dim;
    // Registration order is timm's state-dict order (the distillation pieces last, as its subclass adds them).
    if (cfg_.class_token) cls_token = register_parameter("cls_token", torch::zeros({1, 1, D}));
    if (cfg_.reg_tokens) reg_token = register_parameter("reg_token", torch::zeros({1, cfg_.reg_tokens, D}));
    pos_embed = register_parameter("pos_embed", torch::zeros({1, cfg_.posTokens(), D}));
    patch_embed = register_module("patch_embed", PatchEmbed(cfg_.in_chans, D, cfg_.patch_size, !cfg_.pre_norm));
    if (cfg_.pre_norm) norm_pre = register_module("norm_pre", makeNorm(D, cfg_.norm_eps));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < cfg_.depth; ++i) {
        const double dp = cfg_.depth > 1 ? cfg_.drop_path * i / (cfg_.depth - 1) : 0.0;
        Block b(cfg_, dp);
        blocks->push_back(b);
        blocks_.push_back(b);
    }
    if (cfg_.fc_norm)
        fc_norm = register_module("fc_norm", makeNorm(D, cfg_.norm_eps));
    else
        norm = register_module("norm", makeNorm(D, cfg_.norm_eps));
    if (cfg_.hasHead()) head = register_module("head", torch::nn::Linear(D, cfg_.num_classes));
    if (cfg_.distilled) {
        dist_token = register_parameter("dist_token", torch::zeros({1, 1, D}));
        if (cfg_.hasHead()) head_dist = register_module("head_dist", torch::nn::Linear(D, cfg_.num_classes));
    }
}

Block VisionTransformerImpl::block(int i) const {
    if (i < 0 || i >= depth())
        throw Error("block index " + std::to_string(i) + " out of range [0, " + std::to_string(depth()) + ")");
    return blocks_[i];
}

torch::Tensor VisionTransformerImpl::embed(const torch::Tensor& img) {
    if (img.dim() != 4 || img.size(1) != cfg_.in_chans || img.size(2) != cfg_.img_size ||
        img.size(3) != cfg_.img_size) {
        std::ostringstream ss;
        ss << "input of shape " << img.sizes() << " does not fit model '" << cfg_.name << "' (expects [B,"
           << cfg_.in_chans << "," << cfg_.img_size << "," << cfg_.img_size << "])";
        throw Error(ss.str());
    }
    auto x = patch_embed->forward(img);
    const auto B = x.size(0);
    std::vector<torch::Tensor> parts;  // timm: class, (distillation), registers, then the patches
    if (cls_token.defined()) parts.push_back(cls_token.expand({B, -1, -1}));
    if (dist_token.defined()) parts.push_back(dist_token.expand({B, -1, -1}));
    if (reg_token.defined()) parts.push_back(reg_token.expand({B, -1, -1}));
    if (cfg_.no_embed_class) {
        parts.push_back(x + pos_embed);
        x = parts.size() > 1 ? torch::cat(parts, 1) : parts.front();
    } else {
        parts.push_back(x);
        x = (parts.size() > 1 ? torch::cat(parts, 1) : parts.front()) + pos_embed;
    }
    return norm_pre ? norm_pre->forward(x) : x;
}

torch::Tensor VisionTransformerImpl::runBlocks(torch::Tensor x, int from, int to, const std::vector<bool>* skip,
                                               FeatureTaps* taps) {
    for (int i = from; i < to; ++i) x = blocks_[i]->forward(x, taps, skip && (*skip)[i]);
    return x;
}

torch::Tensor VisionTransformerImpl::feature(const torch::Tensor& x) {
    // LayerNorm is per token, so norm(x)[:, 0] = norm(x[:, 0]): only the pooled rows are normalised.
    if (cfg_.distilled) return norm->forward(x.narrow(1, 0, 2)).flatten(1);  // [cls | dist]
    torch::Tensor f;
    if (cfg_.global_pool == "token")
        f = norm ? norm->forward(x.select(1, 0)) : x.select(1, 0);
    else {
        const auto patches = x.narrow(1, cfg_.numPrefix(), x.size(1) - cfg_.numPrefix());
        f = (norm ? norm->forward(patches) : patches).mean(1);
    }
    return fc_norm ? fc_norm->forward(f) : f;
}

torch::Tensor VisionTransformerImpl::classify(const torch::Tensor& f) {
    if (!head) return f;
    if (!head_dist) return head->forward(f);
    const int64_t D = cfg_.embed_dim;
    return (head->forward(f.narrow(1, 0, D)) + head_dist->forward(f.narrow(1, D, D))) / 2;
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
    auto f = feature(x);
    auto logits = classify(f);
    if (taps) {
        taps->feature = f;
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
        } else if (k > 0) {  // with LayerScale, gamma (s W x + s b) = s gamma (W x + b): the same fold
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
    if (cls_token.defined()) cls_token.normal_(0.0, 1e-6);
    if (reg_token.defined()) reg_token.normal_(0.0, 1e-6);
    if (dist_token.defined()) truncNormal(dist_token, 0.02);
    for (auto& m : modules(/*include_self=*/false)) {
        if (auto* lin = m->as<torch::nn::Linear>()) {
            truncNormal(lin->weight, 0.02);
            if (lin->bias.defined()) lin->bias.zero_();
        } else if (auto* ln = m->as<torch::nn::LayerNorm>()) {
            ln->weight.fill_(1.0);
            ln->bias.zero_();
        } else if (auto* conv = m->as<torch::nn::Conv2d>()) {
            conv->reset_parameters();
        } else if (auto* ls = m->as<LayerScale>()) {
            ls->gamma.fill_(cfg_.init_values);
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
