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
        {R"((?:vit\.|deit\.)?encoder\.layer\.(\d+)\.attention\.output\.dense\.(weight|bias))", "blocks.$1.attn.proj.$2"},
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

}  // namespace

std::string detect(const Tensors& t) {
    if (any(t, "encoder.layer.") && any(t, "attention.attention.query")) return any(t, "distillation") ? "hf-deit" : "hf-vit";
    if (any(t, "encoder.layers.encoder_layer_") || any(t, "conv_proj.weight")) return "torchvision";
    for (const auto& [k, v] : t)
        if (k == "mask_token") return "dinov2";
    if (any(t, "blocks.") || any(t, "patch_embed.proj.weight")) return "timm";
    return "";
}

Tensors toTimm(const std::string& layout, Tensors t, const std::string& source, std::vector<std::string>* notes) {
    const auto& rules = layout == "torchvision" ? torchvisionRules()
                        : layout.rfind("hf-", 0) == 0 ? hfRules()
                                                      : timmRules();
    static const std::regex hf_qkv(R"((?:vit\.|deit\.)?encoder\.layer\.(\d+)\.attention\.attention\.((?:query|key|value)\.(?:weight|bias)))");
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
        for (const auto& r : rules) {
            if (!std::regex_match(k, std::regex(r.from))) continue;
            const std::string to = std::regex_replace(k, std::regex(r.from), r.to);
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
    if (notes) {
        static const std::map<std::string, std::string> names{{"hf-vit", "the Hugging Face ViT"}, {"hf-deit", "the Hugging Face DeiT"},
                                                              {"torchvision", "the torchvision"}, {"timm", "the old timm (gamma_1/gamma_2)"},
                                                              {"dinov2", "the DINOv2"}};
        if (renamed && names.count(layout)) notes->push_back("renamed " + std::to_string(renamed) + " keys from " + names.at(layout) + " layout");
        if (!ignored.empty()) {
            std::string s = "ignored " + std::to_string(ignored.size()) + " tensors not used for classification:";
            for (size_t i = 0; i < ignored.size() && i < 4; ++i) s += " " + ignored[i];
            notes->push_back(s + (ignored.size() > 4 ? " ..." : ""));
        }
    }
    return out;
}

}  // namespace dilute::io::layouts
