#pragma once
// Where a model comes from: a Dilute or plain safetensors file, a torch.save file (.pth/.pt/.bin),
// a timm hub folder (config.json + model.safetensors or pytorch_model.bin) or a Hugging Face
// transformers folder. A reader yields tensors in timm's names (io/layouts.h) plus what the
// source knows of the architecture; it never builds a model (io/weights.h does, inferring what
// the source does not say from the tensors' shapes).
#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dilute::io {

/// What a config (or the user) says about the architecture; 0 / "" / empty = not said.
struct ArchHints {
    std::string name;  // timm architecture ("deit3_small_patch16_224") or a config's model type
    int heads = 0;
    double eps = 0;
    int img_size = 0;
    int num_classes = -1;
    std::string global_pool;  // token | avg
    int fc_norm = -1;         // -1 unknown, 0 / 1
    double init_values = 0;
    std::vector<double> mean, std;
    double crop_pct = 0;
    std::string interpolation;
    std::vector<std::string> class_names;
};

struct ModelSource {
    std::string path;
    std::string format;  // dilute safetensors | safetensors | pytorch zip | pytorch legacy | timm hub folder | Hugging
                         // Face folder
    std::string layout;  // timm | hf-vit | hf-deit | torchvision | dinov2
    std::vector<std::pair<std::string, torch::Tensor>> tensors;  // timm names
    std::map<std::string, std::string> metadata;                 // safetensors __metadata__
    ArchHints hints;
    std::vector<std::string> mapping;  // what was renamed, fused, averaged or ignored, one line each
};

struct SourceOptions {
    std::string weights_key;  // torch files: the checkpoint entry holding the weights
};

/// Reads the file or folder `path`; throws dilute::Error naming it.
ModelSource readSource(const std::string& path, const SourceOptions& o = {});

}  // namespace dilute::io
