#pragma once
// The one table of weight names (timm keys) of every family member. The loader, the exporters,
// the key layouts of other frameworks (io/layouts.h) and the views use it; nothing else spells
// a key. Which keys a model has follows its record (model::ViTConfig): a LayerScale model has
// `blocks.{i}.ls1.gamma`, a distilled one `dist_token` and `head_dist.*`, and so on.
#include <string>
#include <vector>

#include "model/preset.h"

namespace dilute::io::keys {

enum class Part { Embed, Attention, Mlp, Head };

struct KeySpec {
    const char* leaf;  // e.g. "attn.qkv.weight" (block keys) or "cls_token" (global keys)
    Part part;
    bool (*present)(const model::ViTConfig&);  // whether a model of this record has the key
};

/// Global keys before the blocks, the per-block keys, and the global keys after them.
const std::vector<KeySpec>& embedKeys();
const std::vector<KeySpec>& blockKeys();
const std::vector<KeySpec>& headKeys();

std::string blockKey(int block, const char* leaf);  // "blocks.{i}.{leaf}"
/// Every key a model of `cfg` with `removed` blocks has, in timm order.
std::vector<std::string> expectedKeys(const model::ViTConfig& cfg, const std::vector<int>& removed);
/// Block index of a "blocks.{i}..." key, or -1.
int blockOf(const std::string& key);
/// The part of a "blocks.{i}." key after the index ("attn.qkv.weight"), or "" for other keys.
std::string blockLeaf(const std::string& key);
/// True for the keys that exist only while a block has its attention (norm1.*, attn.*, ls1.*).
bool isAttentionKey(const std::string& key);

}  // namespace dilute::io::keys
