#include "model/preset.h"
#include <cmath>

#include "util/error.h"
#include "util/files.h"

namespace dilute::model {
namespace {

ViTConfig deit(const std::string& name, int dim, int heads) {
    ViTConfig c;
    c.name = name;
    c.embed_dim = dim;
    c.num_heads = heads;
    return c;
}

// The other family members, with timm's model args and pretrained_cfg (deit.py, vision_transformer.py).
ViTConfig distilled(const std::string& name, int dim, int heads) {
    auto c = deit(name, dim, heads);
    c.distilled = true;
    return c;
}

ViTConfig deit3(const std::string& name, int dim, int heads) {
    auto c = deit(name, dim, heads);
    c.no_embed_class = true;
    c.init_values = 1e-6;
    return c;
}

ViTConfig augreg(const std::string& name, int dim, int heads) {  // crop_pct 0.9, Inception mean/std
    auto c = deit(name, dim, heads);
    c.mean = {0.5, 0.5, 0.5};
    c.std = {0.5, 0.5, 0.5};
    return c;
}

ViTConfig dinov2(const std::string& name, int dim, int heads, int registers) {  // 518 px, crop_pct 1, no head
    auto c = deit(name, dim, heads);
    c.patch_size = 14;
    c.img_size = 518;
    c.eval_resize = 518;
    c.num_classes = 0;
    c.init_values = 1e-5;
    c.reg_tokens = registers;
    c.no_embed_class = registers > 0;
    return c;
}

// Our presets for small images. 28x28 grayscale (Fashion-MNIST, MNIST) and 32x32 RGB (CIFAR).
ViTConfig small(const std::string& name, int img, int patch, int chans, int classes, int dim, int depth, int heads,
                std::vector<double> mean, std::vector<double> std, std::string data) {
    ViTConfig c;
    c.name = name;
    c.img_size = img;
    c.patch_size = patch;
    c.in_chans = chans;
    c.num_classes = classes;
    c.embed_dim = dim;
    c.depth = depth;
    c.num_heads = heads;
    c.mean = std::move(mean);
    c.std = std::move(std);
    c.eval_resize = img;
    c.interpolation = "bilinear";
    c.default_data = std::move(data);
    return c;
}

std::vector<ViTConfig> registry() {
    const std::vector<double> fm{0.2860}, fs{0.3530};
    const std::vector<double> cm{0.4914, 0.4822, 0.4465}, cs{0.2470, 0.2435, 0.2616};
    return {
        deit("deit_tiny_patch16_224", 192, 3),
        deit("deit_small_patch16_224", 384, 6),
        deit("deit_base_patch16_224", 768, 12),
        distilled("deit_tiny_distilled_patch16_224", 192, 3),
        distilled("deit_small_distilled_patch16_224", 384, 6),
        distilled("deit_base_distilled_patch16_224", 768, 12),
        deit3("deit3_small_patch16_224", 384, 6),
        deit3("deit3_base_patch16_224", 768, 12),
        augreg("vit_tiny_patch16_224", 192, 3),
        augreg("vit_small_patch16_224", 384, 6),
        augreg("vit_base_patch16_224", 768, 12),
        dinov2("vit_small_patch14_dinov2", 384, 6, 0),
        dinov2("vit_small_patch14_reg4_dinov2", 384, 6, 4),
        small("vit_nano_patch7_28", 28, 7, 1, 10, 64, 6, 4, fm, fs, "fashion-mnist"),
        small("vit_micro_patch7_28", 28, 7, 1, 10, 96, 12, 4, fm, fs, "fashion-mnist"),
        small("vit_tiny_patch4_28", 28, 4, 1, 10, 192, 12, 3, fm, fs, "fashion-mnist"),
        small("vit_micro_patch4_32", 32, 4, 3, 10, 128, 12, 4, cm, cs, "cifar10"),
        small("vit_tiny_patch4_32", 32, 4, 3, 10, 192, 12, 3, cm, cs, "cifar10"),
    };
}

}  // namespace

void ViTConfig::validate() const {
    auto bad = [&](const std::string& why) { throw Error("architecture '" + name + "': " + why); };
    if (img_size <= 0 || patch_size <= 0 || img_size % patch_size != 0)
        bad("img_size must be a multiple of patch_size");
    if (in_chans <= 0 || num_classes < 0 || depth <= 0) bad("in_chans and depth must be positive, num_classes >= 0");
    if (global_pool != "token" && global_pool != "avg")
        bad("global_pool '" + global_pool + "' is not supported (token or avg)");
    if (global_pool == "token" && !class_token) bad("global_pool token needs a class token");
    if (distilled && (!class_token || global_pool != "token" || reg_tokens != 0))
        bad("a distilled model has a class token, token pooling and no register tokens");
    if (num_heads <= 0 || embed_dim % num_heads != 0) bad("embed_dim must be divisible by num_heads");
    if (mlp_ratio <= 0) bad("mlp_ratio must be positive");
    if (static_cast<int>(mean.size()) != in_chans || static_cast<int>(std.size()) != in_chans)
        bad("mean/std must have one value per input channel");
    // Ranges first, so metadata from a hostile or broken file never builds a huge model.
    auto range = [&](const char* what, double v, double lo, double hi) {
        if (!(v >= lo && v <= hi))
            bad(std::string(what) + " " + std::to_string(v) + " is outside [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
    };
    range("img_size", img_size, 1, 4096);
    range("in_chans", in_chans, 1, 64);
    range("num_classes", num_classes, 0, 1000000);
    range("embed_dim", embed_dim, 1, 16384);
    range("depth", depth, 1, 512);
    range("num_heads", num_heads, 1, embed_dim);
    range("mlp_ratio", mlp_ratio, 1e-3, 64);
    range("reg_tokens", reg_tokens, 0, 256);
    range("init_values", init_values, 0, 1e3);
    range("norm_eps", norm_eps, 1e-15, 1e-1);
    range("eval_resize", eval_resize, 0, 8192);
    for (size_t i = 0; i < mean.size(); ++i)
        if (!std::isfinite(mean[i]) || !std::isfinite(std[i]) || !(std[i] > 0))
            bad("mean/std must be finite with std > 0");
    // Parameters, about: per block 4 D^2 (attention) + 2 r D^2 (MLP); patch embedding, positions, head.
    const double D = embed_dim, tokens = double(img_size / patch_size) * (img_size / patch_size) + numPrefix();
    const double params = depth * (4.0 + 2.0 * mlp_ratio) * D * D + double(in_chans) * patch_size * patch_size * D +
                          tokens * D + D * num_classes;
    const double limit = double(fs::memoryLimitBytes());
    if (params * 4.0 > limit)
        bad("about " + std::to_string(int64_t(params)) + " parameters (" + std::to_string(int64_t(params * 4 / 1e6)) +
            " MB) would not fit in the memory limit of " + std::to_string(int64_t(limit / 1e6)) + " MB");
}

bool ViTConfig::plain() const {
    return class_token && reg_tokens == 0 && !distilled && !no_embed_class && global_pool == "token" && !fc_norm &&
           qkv_bias && !qk_norm && !pre_norm && !layerScale() && num_classes > 0;
}

std::string ViTConfig::familyFlags() const {
    std::vector<std::string> f;
    if (!class_token) f.push_back("no class token");
    if (distilled) f.push_back("distilled");
    if (reg_tokens) f.push_back(std::to_string(reg_tokens) + " register tokens");
    if (no_embed_class) f.push_back("no_embed_class");
    if (layerScale()) f.push_back("LayerScale");
    if (global_pool != "token") f.push_back("global_pool " + global_pool);
    if (fc_norm) f.push_back("fc_norm");
    if (!qkv_bias) f.push_back("no qkv bias");
    if (qk_norm) f.push_back("qk_norm");
    if (pre_norm) f.push_back("pre_norm");
    if (!hasHead()) f.push_back("no head");
    std::string s;
    for (const auto& x : f) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? "plain" : s;
}

std::vector<std::string> presetNames() {
    std::vector<std::string> out;
    for (const auto& c : registry()) out.push_back(c.name);
    return out;
}

bool isPreset(const std::string& name) {
    for (const auto& c : registry())
        if (c.name == name) return true;
    return false;
}

ViTConfig preset(const std::string& name) {
    for (const auto& c : registry())
        if (c.name == name) return c;
    std::string known;
    for (const auto& n : presetNames()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown preset '" + name + "' (known: " + known + ")");
}

}  // namespace dilute::model
