#pragma once
// The one table of weight names (timm keys). The loader, the pruner and the views use it;
// nothing else spells a key.
#include <string>
#include <vector>

#include "model/preset.h"

namespace dilute::io::keys {

enum class Part { Embed, Attention, Mlp, Head };

struct KeySpec {
    const char* leaf;  // e.g. "attn.qkv.weight" (block keys) or "cls_token" (global keys)
    Part part;
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
/// True for the keys that exist only while a block has its attention (norm1.*, attn.*).
bool isAttentionKey(const std::string& key);

}  // namespace dilute::io::keys
