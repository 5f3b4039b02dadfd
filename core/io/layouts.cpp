#include "io/layouts.h"

#include <torch/torch.h>

#include <map>
#include <regex>

#include "util/error.h"

namespace dilute::io::layouts {
namespace {

struct Rule {
    const char* from;  // regex over the source key; $1 is the block index where there is one
    const char* to;    // timm key ("" drops the key, listed as ignored)
};

// Hugging Face transformers ViTModel / ViTForImageClassification (prefix "vit." or none) and
// DeiTForImageClassificationWithTeacher ("deit."); query/key/value are fused separately.
const std::vector<Rule>& hfRules() {
    static const std::vector<Rule> r{
        {R"((?:vit\.|deit\.)?embeddings\.cls_token)", "cls_token"},
        {R"((?:vit\.|deit\.)?embeddings\.distillation_token)", "dist_token"},
        {R"((?:vit\.|deit\.)?embeddings\.position_embeddings)", "pos_embed"},
        {R"((?:vit\.|deit\.)?embeddings\.patch_embeddings\.projection\.(weight|bias))", "patch_embed.proj.$1"},
        {R"((?:vit\.|deit\.)?encoder\.layer\.(\d+)\.layernorm_before\.(weight|bias))", "blocks.$1.norm1.$2"},
        {R"((?:vit\.|deit\.)?encoder\.layer\.(\d+)\.attention\.output\.dense\.(weight|bias))",
         "blocks.$1.attn.proj.$2"},
        {R"((?:vit\.|deit\.)?encoder\.layer\.(\d+)\.layernorm_after\.(weight|bias))", "blocks.$1.norm2.$2"},
        {R"((?:vit\.|deit\.)?encoder\.layer\.(\d+)\.intermediate\.dense\.(weight|bias))", "blocks.$1.mlp.fc1.$2"},
        {R"((?:vit\.|deit\.)?encoder\.layer\.(\d+)\.output\.dense\.(weight|bias))", "blocks.$1.mlp.fc2.$2"},
        {R"((?:vit\.|deit\.)?layernorm\.(weight|bias))", "norm.$1"},
        {R"(classifier\.(weight|bias))", "head.$1"},
        {R"(cls_classifier\.(weight|bias))", "head.$1"},
        {R"(distillation_classifier\.(weight|bias))", "head_dist.$1"},
        {R"((?:vit\.|deit\.)?pooler\..*)", ""},
        {R"((?:vit\.|deit\.)?embeddings\.mask_token)", ""}};
    return r;
}

// torchvision.models.VisionTransformer (mlp.0/mlp.3, or linear_1/linear_2 of older releases).
const std::vector<Rule>& torchvisionRules() {
    static const std::vector<Rule> r{
        {R"(class_token)", "cls_token"},
        {R"(conv_proj\.(weight|bias))", "patch_embed.proj.$1"},
        {R"(encoder\.pos_embedding)", "pos_embed"},
        {R"(encoder\.layers\.encoder_layer_(\d+)\.ln_1\.(weight|bias))", "blocks.$1.norm1.$2"},
        {R"(encoder\.layers\.encoder_layer_(\d+)\.self_attention\.in_proj_(weight|bias))", "blocks.$1.attn.qkv.$2"},
        {R"(encoder\.layers\.encoder_layer_(\d+)\.self_attention\.out_proj\.(weight|bias))", "blocks.$1.attn.proj.$2"},
        {R"(encoder\.layers\.encoder_layer_(\d+)\.ln_2\.(weight|bias))", "blocks.$1.norm2.$2"},
        {R"(encoder\.layers\.encoder_layer_(\d+)\.mlp\.(?:0|linear_1)\.(weight|bias))", "blocks.$1.mlp.fc1.$2"},
        {R"(encoder\.layers\.encoder_layer_(\d+)\.mlp\.(?:3|linear_2)\.(weight|bias))", "blocks.$1.mlp.fc2.$2"},
        {R"(encoder\.ln\.(weight|bias))", "norm.$1"},
        {R"(heads\.head\.(weight|bias))", "head.$1"}};
    return r;
}

// timm itself: old DeiT-III files spell LayerScale gamma_1 / gamma_2 (timm's checkpoint_filter_fn).
const std::vector<Rule>& timmRules() {
    static const std::vector<Rule> r{{R"(blocks\.(\d+)\.gamma_1)", "blocks.$1.ls1.gamma"},
                                     {R"(blocks\.(\d+)\.gamma_2)", "blocks.$1.ls2.gamma"}};
    return r;
}

bool any(const Tensors& t, const std::string& needle) {
    for (const auto& [k, v] : t)
        if (k.find(needle) != std::string::npos) return true;
    return false;
}

// HF keeps query, key and value apart: fuse them into timm's qkv rows [q | k | v].
void fuseQkv(Tensors& out, std::map<std::string, torch::Tensor>& qkv, const std::string& source,
             std::vector<std::string>* notes) {
    std::map<std::string, int> blocks;
    for (const auto& [k, v] : qkv) {
        const auto dot = k.find('|');
        const std::string block = k.substr(0, dot), leaf = k.substr(dot + 1);  // "3", "query.weight"
        if (leaf.rfind("query.", 0) != 0) continue;
        const std::string kind = leaf.substr(6);
        auto q = qkv.find(block + "|query." + kind), kk = qkv.find(block + "|key." + kind),
             vv = qkv.find(block + "|value." + kind);
        if (kk == qkv.end() || vv == qkv.end() || q->second.sizes() != kk->second.sizes() ||
            q->second.sizes() != vv->second.sizes())
            throw Error(source + ": block " + block + " lacks a matching key/value " + kind + " for its query");
        out.emplace_back("blocks." + block + ".attn.qkv." + kind, torch::cat({q->second, kk->second, vv->second}, 0));
        blocks[block] = 1;
    }
    if (notes && !blocks.empty())
        notes->push_back("fused query/key/value into qkv in " + std::to_string(blocks.size()) + " blocks");
}

// timm's _convert_dinov2 for the DINOv2 repository's files with registers: register_tokens are
// reg_token, and neither class nor register tokens overlap the position embedding (timm builds
// these no_embed_class): cls_token + pos_embed[:, 0], pos_embed[:, 1:]. The SwiGLU MLP of the
// giant models (mlp.w12 / w3) is not a member of the family.
void convertDinov2(Tensors& t, const std::string& source, std::vector<std::string>* notes) {
    auto find = [&](const std::string& k) -> torch::Tensor* {
        for (auto& [key, v] : t)
            if (key == k) return &v;
        return nullptr;
    };
    for (const auto& [k, v] : t)
        if (k.find(".mlp.w12.") != std::string::npos)
            throw Error(source + ": " + k +
                        ": a SwiGLU MLP (DINOv2 giant) is not supported; the family's MLP is fc1-GELU-fc2");
    auto* reg = find("register_tokens");
    if (!reg) return;
    auto *cls = find("cls_token"), *pos = find("pos_embed");
    if (!cls || !pos || pos->dim() != 3 || pos->size(1) < 2 || cls->dim() != 3 || cls->size(2) != pos->size(2))
        throw Error(source + ": register_tokens without a class token and a position embedding of the same width");
    *cls = *cls + pos->narrow(1, 0, 1);
    *pos = pos->narrow(1, 1, pos->size(1) - 1).contiguous();
    for (auto& [k, v] : t)
        if (k == "register_tokens") k = "reg_token";
    if (notes)
        notes->push_back(
            "register_tokens -> reg_token; the class token's position row folded into cls_token "
            "(timm's _convert_dinov2: no_embed_class)");
}

// transformers' DeiTForImageClassification (and DeiTModel) carry a distillation token that no
// head reads: the model is a ViT whose second token is a register.
void distillationTokenAsRegister(Tensors& t, std::vector<std::string>* notes) {
    bool headDist = false;
    for (const auto& [k, v] : t) headDist = headDist || k.rfind("head_dist.", 0) == 0;
    if (headDist) return;
    for (auto& [k, v] : t)
        if (k == "dist_token") {
            k = "reg_token";
            if (notes)
                notes->push_back(
                    "distillation token read as a register token (no distillation head: only the class "
                    "token is classified, as DeiTForImageClassification does)");
        }
}

}  // namespace

std::string detect(const Tensors& t) {
    if (any(t, "encoder.layer.") && any(t, "attention.attention.query"))
        return any(t, "distillation") ? "hf-deit" : "hf-vit";
    if (any(t, "encoder.layers.encoder_layer_") || any(t, "conv_proj.weight")) return "torchvision";
    for (const auto& [k, v] : t)
        if (k == "mask_token") return "dinov2";
    if (any(t, "blocks.") || any(t, "patch_embed.proj.weight")) return "timm";
    return "";
}

Tensors toTimm(const std::string& layout, Tensors t, const std::string& source, std::vector<std::string>* notes) {
    const auto& rules = layout == "torchvision"       ? torchvisionRules()
                        : layout.rfind("hf-", 0) == 0 ? hfRules()
                                                      : timmRules();
    std::vector<std::regex> from;  // compiled once per call, not once per key
    for (const auto& r : rules) from.emplace_back(r.from);
    static const std::regex hf_qkv(
        R"((?:vit\.|deit\.)?encoder\.layer\.(\d+)\.attention\.attention\.((?:query|key|value)\.(?:weight|bias)))");
    Tensors out;
    std::map<std::string, torch::Tensor> qkv;
    std::vector<std::string> ignored;
    size_t renamed = 0;
    for (auto& [k, v] : t) {
        std::smatch m;
        if (layout.rfind("hf-", 0) == 0 && std::regex_match(k, m, hf_qkv)) {
            qkv[m[1].str() + "|" + m[2].str()] = v;
            continue;
        }
        if (layout == "dinov2" && k == "mask_token") {
            ignored.push_back(k);
            continue;
        }
        bool done = false;
        for (size_t i = 0; i < rules.size(); ++i) {
            if (!std::regex_match(k, from[i])) continue;
            const std::string to = std::regex_replace(k, from[i], rules[i].to);
            if (to.empty())
                ignored.push_back(k);
            else
                out.emplace_back(to, v), ++renamed;
            done = true;
            break;
        }
        if (!done) out.emplace_back(k, v);  // left as it is: the loader reports it if it does not fit
    }
    fuseQkv(out, qkv, source, notes);
    if (layout == "dinov2") convertDinov2(out, source, notes);
    if (layout == "hf-deit") distillationTokenAsRegister(out, notes);
    if (notes) {
        static const std::map<std::string, std::string> names{{"hf-vit", "the Hugging Face ViT"},
                                                              {"hf-deit", "the Hugging Face DeiT"},
                                                              {"torchvision", "the torchvision"},
                                                              {"timm", "the old timm (gamma_1/gamma_2)"},
                                                              {"dinov2", "the DINOv2"}};
        if (renamed && names.count(layout))
            notes->push_back("renamed " + std::to_string(renamed) + " keys from " + names.at(layout) + " layout");
        if (!ignored.empty()) {
            std::string s = "ignored " + std::to_string(ignored.size()) + " tensors not used for classification:";
            for (size_t i = 0; i < ignored.size() && i < 4; ++i) s += " " + ignored[i];
            notes->push_back(s + (ignored.size() > 4 ? " ..." : ""));
        }
    }
    return out;
}

}  // namespace dilute::io::layouts
