#pragma once
// A fixed, already preprocessed input batch read from a safetensors file: how a model is compared
// with another implementation on the same numbers (`eval --input-tensor`, `inspect --input-tensor`).
#include <torch/types.h>

#include <functional>
#include <string>

#include "model/preset.h"

namespace dilute::io {

/// The tensor 'input' (or the file's only tensor) as float32 [B,C,H,W] fitting `cfg`. Refuses,
/// naming the file: no such tensor, a non-floating type (F32/F16/BF16/F64 are taken), a shape the
/// model does not take (both shapes named), NaN or Inf values unless `allowNonFinite` (then
/// `warn` is told how many).
torch::Tensor readInputTensor(const std::string& path, const model::ViTConfig& cfg, bool allowNonFinite,
                              const std::function<void(const std::string&)>& warn);

/// "[2,3,224,224]".
std::string shapeText(const torch::Tensor& t);

}  // namespace dilute::io
