#pragma once
// The one architecture record (timm's VisionTransformer / VisionTransformerDistilled options,
// SPEC section 1b) and the preset registry: architecture name -> record (as timm's model defs).
#include <array>
#include <string>
#include <vector>

namespace dilute::model {

struct ViTConfig {
    std::string name;    // preset name, e.g. deit_tiny_patch16_224
    int img_size = 224;  // input resolution the model expects
    int patch_size = 16;
    int in_chans = 3;
    int num_classes = 1000;
    int embed_dim = 192;
    int depth = 12;
    int num_heads = 3;
    double mlp_ratio = 4.0;
    double drop_path = 0.0;  // stochastic depth rate (linearly increasing over blocks)
    // The family (timm's names; the defaults are the plain DeiT v1 model).
    bool class_token = true;            // cls_token [1,1,D]
    int reg_tokens = 0;                 // reg_token [1,R,D] (register tokens, DINOv2 reg4)
    bool distilled = false;             // dist_token [1,1,D] + head_dist, averaged with head at inference
    bool no_embed_class = false;        // pos_embed covers the patches only (DeiT-III, reg4)
    std::string global_pool = "token";  // token | avg
    bool fc_norm = false;               // LayerNorm after pooling (then `norm` is identity); timm: on for avg
    bool qkv_bias = true;
    bool qk_norm = false;                  // LayerNorm over head_dim on q and k
    bool pre_norm = false;                 // norm_pre after the embedding (CLIP-style; patch_embed has no bias)
    double init_values = 0.0;              // LayerScale (ls1/ls2.gamma) when > 0; its value initialises gamma
    double norm_eps = 1e-6;                // every LayerNorm (Hugging Face configs: 1e-12)
    std::vector<std::string> class_names;  // from a config (id2label, label_names); empty = unnamed
    // Preprocessing
    std::vector<double> mean{0.485, 0.456, 0.406};
    std::vector<double> std{0.229, 0.224, 0.225};
    int eval_resize = 248;                  // shorter side before the centre crop
    std::string interpolation = "bicubic";  // bilinear | bicubic
    std::string default_data;               // dataset URI the preset is made for ("" = none)

    int gridSize() const { return img_size / patch_size; }
    int numPatches() const { return gridSize() * gridSize(); }
    /// Class, distillation and register tokens before the patches.
    int numPrefix() const { return (class_token ? 1 : 0) + (distilled ? 1 : 0) + reg_tokens; }
    int numTokens() const { return numPatches() + numPrefix(); }
    /// Rows of pos_embed: the patches, plus the prefix unless no_embed_class.
    int posTokens() const { return no_embed_class ? numPatches() : numTokens(); }
    bool layerScale() const { return init_values > 0.0; }
    bool hasHead() const { return num_classes > 0; }
    /// Channels of the feature the head sees (H_out): D, or 2D for a distilled model (CLS and
    /// distillation features side by side).
    int featureDim() const { return distilled ? 2 * embed_dim : embed_dim; }
    /// Whether this is the plain DeiT v1 member (what the TorchScript writer and the CPU kernels know).
    bool plain() const;
    /// One line naming the family flags that are not the plain model's ("LayerScale, no_embed_class").
    std::string familyFlags() const;
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
