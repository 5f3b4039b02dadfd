#pragma once
// Moving an opened model to the user's data before it is built: another resolution (the
// position grid resampled timm's way, model/posembed.h) and another class count (a new head,
// as timm's load_pretrained and DeiT's fine-tuning drop the checkpoint's classifier).
#include <string>
#include <vector>

#include "io/layouts.h"
#include "model/preset.h"

namespace dilute::io {

struct Adaptation {
    int img_size = 0;      // --img-size: build the model at this resolution (0: the source's own)
    int num_classes = -1;  // a new head for this many classes when it differs (-1: keep the source's)
    std::string data;      // the dataset it is moved to, recorded as its default data ("": keep)
};

/// Applies `a` to `cfg` and to the tensors read for it: pos_embed resampled (when present) and
/// the eval resize scaled with the same crop fraction; with a new class count, head.* and
/// head_dist.* dropped (the caller initialises the new ones) and the class names cleared.
/// One line per change goes to `notes`. Returns whether the head was replaced. Throws
/// dilute::Error naming `source` and the option when the request cannot apply (an image size
/// that is not a multiple of the patch size).
bool adaptSource(model::ViTConfig& cfg, layouts::Tensors& tensors, const Adaptation& a, std::vector<std::string>* notes,
                 const std::string& source);

/// The keys a replaced head leaves missing (the only ones a load may then miss).
bool isHeadKey(const std::string& key);

}  // namespace dilute::io
