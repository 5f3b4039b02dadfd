#include "io/keys.h"

#include <algorithm>

namespace dilute::io::keys {
namespace {
using Cfg = model::ViTConfig;
bool always(const Cfg&) { return true; }
bool classToken(const Cfg& c) { return c.class_token; }
bool registers(const Cfg& c) { return c.reg_tokens > 0; }
bool embedBias(const Cfg& c) { return !c.pre_norm; }
bool preNorm(const Cfg& c) { return c.pre_norm; }
bool qkvBias(const Cfg& c) { return c.qkv_bias; }
bool qkNorm(const Cfg& c) { return c.qk_norm; }
bool layerScale(const Cfg& c) { return c.layerScale(); }
bool finalNorm(const Cfg& c) { return !c.fc_norm; }
bool fcNorm(const Cfg& c) { return c.fc_norm; }
bool head(const Cfg& c) { return c.hasHead(); }
bool distToken(const Cfg& c) { return c.distilled; }
bool headDist(const Cfg& c) { return c.distilled && c.hasHead(); }
}  // namespace

const std::vector<KeySpec>& embedKeys() {
    static const std::vector<KeySpec> k{{"cls_token", Part::Embed, classToken},
                                        {"reg_token", Part::Embed, registers},
                                        {"pos_embed", Part::Embed, always},
                                        {"patch_embed.proj.weight", Part::Embed, always},
                                        {"patch_embed.proj.bias", Part::Embed, embedBias},
                                        {"norm_pre.weight", Part::Embed, preNorm},
                                        {"norm_pre.bias", Part::Embed, preNorm}};
    return k;
}

const std::vector<KeySpec>& blockKeys() {
    static const std::vector<KeySpec> k{{"norm1.weight", Part::Attention, always},
                                        {"norm1.bias", Part::Attention, always},
                                        {"attn.qkv.weight", Part::Attention, always},
                                        {"attn.qkv.bias", Part::Attention, qkvBias},
                                        {"attn.q_norm.weight", Part::Attention, qkNorm},
                                        {"attn.q_norm.bias", Part::Attention, qkNorm},
                                        {"attn.k_norm.weight", Part::Attention, qkNorm},
                                        {"attn.k_norm.bias", Part::Attention, qkNorm},
                                        {"attn.proj.weight", Part::Attention, always},
                                        {"attn.proj.bias", Part::Attention, always},
                                        {"ls1.gamma", Part::Attention, layerScale},
                                        {"norm2.weight", Part::Mlp, always},
                                        {"norm2.bias", Part::Mlp, always},
                                        {"mlp.fc1.weight", Part::Mlp, always},
                                        {"mlp.fc1.bias", Part::Mlp, always},
                                        {"mlp.fc2.weight", Part::Mlp, always},
                                        {"mlp.fc2.bias", Part::Mlp, always},
                                        {"ls2.gamma", Part::Mlp, layerScale}};
    return k;
}

const std::vector<KeySpec>& headKeys() {
    static const std::vector<KeySpec> k{
        {"norm.weight", Part::Head, finalNorm},  {"norm.bias", Part::Head, finalNorm},
        {"fc_norm.weight", Part::Head, fcNorm},  {"fc_norm.bias", Part::Head, fcNorm},
        {"head.weight", Part::Head, head},       {"head.bias", Part::Head, head},
        {"dist_token", Part::Head, distToken},   {"head_dist.weight", Part::Head, headDist},
        {"head_dist.bias", Part::Head, headDist}};
    return k;
}

std::string blockKey(int block, const char* leaf) { return "blocks." + std::to_string(block) + "." + leaf; }

std::vector<std::string> expectedKeys(const model::ViTConfig& cfg, const std::vector<int>& removed) {
    std::vector<std::string> out;
    for (const auto& k : embedKeys())
        if (k.present(cfg)) out.emplace_back(k.leaf);
    for (int i = 0; i < cfg.depth; ++i) {
        const bool gone = std::find(removed.begin(), removed.end(), i) != removed.end();
        for (const auto& k : blockKeys())
            if (k.present(cfg) && !(gone && k.part == Part::Attention)) out.push_back(blockKey(i, k.leaf));
    }
    for (const auto& k : headKeys())
        if (k.present(cfg)) out.emplace_back(k.leaf);
    return out;
}

int blockOf(const std::string& key) {
    if (key.rfind("blocks.", 0) != 0) return -1;
    const auto dot = key.find('.', 7);
    if (dot == std::string::npos || dot == 7 || dot - 7 > 6) return -1;
    int v = 0;
    for (size_t i = 7; i < dot; ++i) {
        if (key[i] < '0' || key[i] > '9') return -1;
        v = v * 10 + (key[i] - '0');
    }
    return v;
}

std::string blockLeaf(const std::string& key) {
    return blockOf(key) < 0 ? std::string() : key.substr(key.find('.', 7) + 1);
}

bool isAttentionKey(const std::string& key) {
    const std::string leaf = blockLeaf(key);
    if (leaf.empty()) return false;
    for (const auto& k : blockKeys())
        if (k.part == Part::Attention && leaf == k.leaf) return true;
    return false;
}

}  // namespace dilute::io::keys
