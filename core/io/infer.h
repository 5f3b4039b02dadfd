#pragma once
// The architecture record of a model read from elsewhere (io/source.h): what its config says,
// the rest from its tensors' shapes (embedding width, patch size, depth, MLP width, prefix
// tokens, position grid, which optional pieces exist), as timm's own model defs would spell it.
#include <string>
#include <vector>

#include "io/source.h"
#include "model/preset.h"

namespace dilute::io {

struct InferOptions {
    std::string arch;  // a preset whose record to start from (--arch); "" = the config's or none
    int heads = 0;     // --heads: what the weights cannot tell
};

/// The record for `src`'s tensors; blocks without attention keys are listed in `removed`.
/// Throws dilute::Error naming the source and, where something cannot be inferred, the option
/// that supplies it.
model::ViTConfig inferConfig(const ModelSource& src, const InferOptions& o, std::vector<int>* removed);

}  // namespace dilute::io
