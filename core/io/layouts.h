#pragma once
// Key layouts of other frameworks, mapped onto ours (timm's names, io/keys.h): one table per
// layout, as llama.cpp keeps one tensor-name table per architecture. The loader, `info` and
// the workbench's mapping report read the same tables.
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace dilute::io::layouts {

using Tensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// "timm", "hf-vit" (Hugging Face transformers ViT), "hf-deit" (its DeiT, with the teacher head),
/// "torchvision" (vision_transformer.py), "dinov2" (facebookresearch/dinov2 with mask_token), or
/// "" when the keys fit none.
std::string detect(const Tensors& t);

/// Renames (and fuses: HF's query/key/value into qkv) `t` into timm keys. `notes` receives one
/// line per kind of change ("renamed 152 keys from the Hugging Face ViT layout", "fused
/// query/key/value into qkv in 12 blocks", "ignored: vit.pooler.dense.weight ..."). Throws
/// dilute::Error (prefixed by `source`) when the layout's keys are inconsistent.
Tensors toTimm(const std::string& layout, Tensors t, const std::string& source, std::vector<std::string>* notes);

}  // namespace dilute::io::layouts
