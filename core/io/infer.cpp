#include "io/infer.h"

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <set>

#include "io/keys.h"
#include "util/error.h"

namespace dilute::io {
namespace {

using TensorMap = std::map<std::string, torch::Tensor>;

const torch::Tensor* find(const TensorMap& t, const std::string& k) {
    auto it = t.find(k);
    return it == t.end() ? nullptr : &it->second;
}

int squareRoot(int64_t n) {
    const auto r = static_cast<int64_t>(std::llround(std::sqrt(double(n))));
    return r > 0 && r * r == n ? static_cast<int>(r) : 0;
}

// The head count: --heads, the config, the preset, or the standard ViT widths (timm and torchvision).
int headsFor(int dim, const ArchHints& h, const InferOptions& o, const model::ViTConfig& base, const std::string& src) {
    if (o.heads > 0) return o.heads;
    if (h.heads > 0) return h.heads;
    if (!base.name.empty() && base.embed_dim == dim) return base.num_heads;
    static const std::map<int, int> standard{{192, 3}, {384, 6}, {768, 12}, {1024, 16}, {1280, 16}};
    auto it = standard.find(dim);
    if (it != standard.end()) return it->second;
    throw Error(src + ": the weights do not tell the number of attention heads (embedding width " +
                std::to_string(dim) + " is no standard ViT's); pass --heads N, or --arch PRESET");
}

// Token layout from the tensors: prefix tokens, then whether pos_embed covers them (the grid is square).
void tokens(const TensorMap& t, model::ViTConfig& c, const std::string& src) {
    c.class_token = find(t, "cls_token") != nullptr;
    c.distilled = find(t, "dist_token") != nullptr;
    const auto* reg = find(t, "reg_token");
    c.reg_tokens = reg && reg->dim() == 3 ? static_cast<int>(reg->size(1)) : 0;
    const auto* pos = find(t, "pos_embed");
    if (!pos || pos->dim() != 3)
        throw Error(src + ": no pos_embed [1, N, D] (models without learnt positions are not supported)");
    const int64_t L = pos->size(1);
    const int with_prefix = squareRoot(L - c.numPrefix()), patches_only = squareRoot(L);
    if (with_prefix && !(c.no_embed_class && patches_only)) {
        c.no_embed_class = false;
        c.img_size = with_prefix * c.patch_size;
    } else if (patches_only) {
        c.no_embed_class = true;
        c.img_size = patches_only * c.patch_size;
    } else {
        throw Error(src + ": pos_embed has " + std::to_string(L) +
                    " rows, which is no square grid of patches with or without the " + std::to_string(c.numPrefix()) +
                    " prefix tokens");
    }
}

// Preprocessing: the config's, else the preset's, else ImageNet's (timm's defaults; torchvision bilinear).
void preprocessing(const ArchHints& h, const std::string& layout, bool from_preset, model::ViTConfig& c) {
    if (!from_preset) {
        c.mean = {0.485, 0.456, 0.406};
        c.std = {0.229, 0.224, 0.225};
        c.interpolation = layout == "torchvision" ? "bilinear" : "bicubic";
        c.eval_resize = static_cast<int>(std::floor(c.img_size / 0.875));
    }
    if (!h.mean.empty()) c.mean = h.mean;
    if (!h.std.empty()) c.std = h.std;
    if (!h.interpolation.empty()) c.interpolation = h.interpolation == "bicubic" ? "bicubic" : "bilinear";
    if (h.crop_pct > 0) c.eval_resize = static_cast<int>(std::floor(c.img_size / h.crop_pct));
    for (auto* v : {&c.mean, &c.std})  // one value per channel (a grey model of an RGB config: the first)
        if (static_cast<int>(v->size()) != c.in_chans && !v->empty()) v->assign(c.in_chans, v->front());
}

}  // namespace

model::ViTConfig inferConfig(const ModelSource& src, const InferOptions& o, std::vector<int>* removed) {
    const auto& h = src.hints;
    TensorMap t(src.tensors.begin(), src.tensors.end());
    model::ViTConfig base;
    base.name.clear();
    std::string preset = o.arch.empty() ? h.name.substr(0, h.name.find('.')) : o.arch;
    const bool from_preset = !preset.empty() && model::isPreset(preset);
    if (!o.arch.empty() && !from_preset) model::preset(o.arch);  // throws, listing the presets
    model::ViTConfig c = from_preset ? model::preset(preset) : model::ViTConfig{};
    if (from_preset) base = c;
    const auto* pw = find(t, "patch_embed.proj.weight");
    if (!pw || pw->dim() != 4 || pw->size(2) != pw->size(3))
        throw Error(src.path + ": no patch embedding [D, C, P, P] (patch_embed.proj.weight)");
    c.embed_dim = static_cast<int>(pw->size(0));
    c.in_chans = static_cast<int>(pw->size(1));
    c.patch_size = static_cast<int>(pw->size(2));
    std::set<int> blocks, with_attn;
    for (const auto& [k, v] : t) {
        const int b = keys::blockOf(k);
        if (b < 0) continue;
        if (b >= 4096) throw Error(src.path + ": block index " + std::to_string(b) + " is implausible");
        blocks.insert(b);
        if (keys::isAttentionKey(k)) with_attn.insert(b);
    }
    if (blocks.empty()) throw Error(src.path + ": no transformer blocks (blocks.N.*) in the weights");
    c.depth = *blocks.rbegin() + 1;
    const auto* fc1 = find(t, "blocks.0.mlp.fc1.weight");
    if (!fc1 || fc1->dim() != 2) throw Error(src.path + ": block 0 has no MLP (mlp.fc1.weight)");
    c.mlp_ratio = double(fc1->size(0)) / c.embed_dim;
    c.num_heads = headsFor(c.embed_dim, h, o, base, src.path);
    tokens(t, c, src.path);
    const int first = with_attn.empty() ? -1 : *with_attn.begin();
    const std::string a = first < 0 ? "" : "blocks." + std::to_string(first) + ".";
    c.qkv_bias = first < 0 ? c.qkv_bias : find(t, a + "attn.qkv.bias") != nullptr;
    c.qk_norm = first >= 0 && find(t, a + "attn.q_norm.weight") != nullptr;
    c.init_values = find(t, "blocks." + std::to_string(*blocks.begin()) + ".ls2.gamma")
                        ? (h.init_values > 0   ? h.init_values
                           : c.init_values > 0 ? c.init_values
                                               : 1e-5)
                        : 0.0;
    c.pre_norm = find(t, "norm_pre.weight") != nullptr;
    c.fc_norm = find(t, "fc_norm.weight") != nullptr;
    c.global_pool = !h.global_pool.empty() ? h.global_pool : (c.fc_norm || !c.class_token ? "avg" : "token");
    const auto* head = find(t, "head.weight");
    c.num_classes = head && head->dim() == 2 ? static_cast<int>(head->size(0)) : 0;
    if (h.eps > 0) c.norm_eps = h.eps;
    if (!from_preset) c.name = h.name.empty() ? "imported_" + src.layout : h.name.substr(0, h.name.find('.'));
    preprocessing(h, src.layout, from_preset, c);
    c.class_names =
        static_cast<int>(h.class_names.size()) == c.num_classes ? h.class_names : std::vector<std::string>{};
    if (removed) {
        removed->clear();
        if (!with_attn.empty())
            for (int i = 0; i < c.depth; ++i)
                if (!with_attn.count(i)) removed->push_back(i);
    }
    try {
        c.validate();
    } catch (const Error& e) {
        throw Error(src.path + ": " + e.what());
    }
    return c;
}

}  // namespace dilute::io
