#pragma once
// A timm-loadable export (issue 31): a hub folder (config.json with architecture, model_args and
// pretrained_cfg, + model.safetensors with timm's keys) that timm's own VisionTransformer loads
// when nothing is removed, and, for a pruned model, the same folder whose config and README say
// which blocks are MLP-only, with dilute_vit.py (resources/python/dilute_vit.py): a loader that
// needs only torch and uses timm when installed, so `dilute_vit.load(DIR)` gives the same logits.
#include <string>

#include "model/vit.h"

namespace dilute::io {

/// timm's config.json for `m` (its architecture name, model_args, pretrained_cfg, dilute section).
std::string timmConfigJson(model::VisionTransformerImpl& m);
/// Writes the folder as one set: built beside `dir` and renamed into place; refuses a `dir` that
/// exists and is not empty, naming it.
void saveTimmFolder(model::VisionTransformerImpl& m, const std::string& dir);

}  // namespace dilute::io
