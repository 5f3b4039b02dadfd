#pragma once
// Moving a model to another resolution: timm's resample_abs_pos_embed
// (timm/layers/pos_embed.py), which timm's checkpoint_filter_fn applies when a checkpoint's
// position grid differs from the model's.
#include <torch/torch.h>

namespace dilute::model {

/// `pos` [1, prefix + g*g, D] to [1, prefix + grid*grid, D]: the `prefix` leading rows (class,
/// distillation and register tokens that carry a position; 0 with no_embed_class) kept as they
/// are, the g x g grid resized bicubic with antialiasing, align_corners false, in float32, then
/// back to pos's dtype (F.interpolate(mode="bicubic", antialias=True)). Throws dilute::Error when
/// the rows after the prefix are not a square grid.
torch::Tensor resamplePosEmbed(const torch::Tensor& pos, int grid, int prefix);

}  // namespace dilute::model
