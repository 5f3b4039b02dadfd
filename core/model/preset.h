#pragma once
// One preset registry: architecture name -> dimensions and preprocessing (as timm's deit.py).
#include <array>
#include <string>
#include <vector>

namespace dilute::model {

struct ViTConfig {
    std::string name;          // preset name, e.g. deit_tiny_patch16_224
    int img_size = 224;        // input resolution the model expects
    int patch_size = 16;
    int in_chans = 3;
    int num_classes = 1000;
    int embed_dim = 192;
    int depth = 12;
    int num_heads = 3;
    double mlp_ratio = 4.0;
    double drop_path = 0.0;    // stochastic depth rate (linearly increasing over blocks)
    // Preprocessing
    std::vector<double> mean{0.485, 0.456, 0.406};
    std::vector<double> std{0.229, 0.224, 0.225};
    int eval_resize = 248;     // shorter side before the centre crop
    std::string interpolation = "bicubic";  // bilinear | bicubic
    std::string default_data;  // dataset URI the preset is made for ("" = none)

    int numPatches() const { return (img_size / patch_size) * (img_size / patch_size); }
    int numTokens() const { return numPatches() + 1; }
    int headDim() const { return embed_dim / num_heads; }
    int hiddenDim() const { return static_cast<int>(embed_dim * mlp_ratio); }
    void validate() const;  // throws dilute::Error on inconsistent dimensions
};

/// All preset names in registry order.
std::vector<std::string> presetNames();
bool isPreset(const std::string& name);
/// Throws dilute::Error listing the known presets if `name` is unknown.
ViTConfig preset(const std::string& name);

}  // namespace dilute::model
