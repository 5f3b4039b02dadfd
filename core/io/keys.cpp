#include "io/keys.h"

#include <algorithm>

namespace dilute::io::keys {

const std::vector<KeySpec>& embedKeys() {
    static const std::vector<KeySpec> k{{"cls_token", Part::Embed},
                                        {"pos_embed", Part::Embed},
                                        {"patch_embed.proj.weight", Part::Embed},
                                        {"patch_embed.proj.bias", Part::Embed}};
    return k;
}

const std::vector<KeySpec>& blockKeys() {
    static const std::vector<KeySpec> k{
        {"norm1.weight", Part::Attention},   {"norm1.bias", Part::Attention},  {"attn.qkv.weight", Part::Attention},
        {"attn.qkv.bias", Part::Attention},  {"attn.proj.weight", Part::Attention},
        {"attn.proj.bias", Part::Attention}, {"norm2.weight", Part::Mlp},      {"norm2.bias", Part::Mlp},
        {"mlp.fc1.weight", Part::Mlp},       {"mlp.fc1.bias", Part::Mlp},      {"mlp.fc2.weight", Part::Mlp},
        {"mlp.fc2.bias", Part::Mlp}};
    return k;
}

const std::vector<KeySpec>& headKeys() {
    static const std::vector<KeySpec> k{
        {"norm.weight", Part::Head}, {"norm.bias", Part::Head}, {"head.weight", Part::Head}, {"head.bias", Part::Head}};
    return k;
}

std::string blockKey(int block, const char* leaf) { return "blocks." + std::to_string(block) + "." + leaf; }

std::vector<std::string> expectedKeys(const model::ViTConfig& cfg, const std::vector<int>& removed) {
    std::vector<std::string> out;
    for (const auto& k : embedKeys()) out.emplace_back(k.leaf);
    for (int i = 0; i < cfg.depth; ++i) {
        const bool gone = std::find(removed.begin(), removed.end(), i) != removed.end();
        for (const auto& k : blockKeys())
            if (!(gone && k.part == Part::Attention)) out.push_back(blockKey(i, k.leaf));
    }
    for (const auto& k : headKeys()) out.emplace_back(k.leaf);
    return out;
}

int blockOf(const std::string& key) {
    if (key.rfind("blocks.", 0) != 0) return -1;
    const auto dot = key.find('.', 7);
    if (dot == std::string::npos) return -1;
    try {
        return std::stoi(key.substr(7, dot - 7));
    } catch (...) {
        return -1;
    }
}

bool isAttentionKey(const std::string& key) {
    const int b = blockOf(key);
    if (b < 0) return false;
    const std::string leaf = key.substr(key.find('.', 7) + 1);
    for (const auto& k : blockKeys())
        if (k.part == Part::Attention && leaf == k.leaf) return true;
    return false;
}

}  // namespace dilute::io::keys
