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

// Our presets for small images. 28x28 grayscale (Fashion-MNIST, MNIST) and 32x32 RGB (CIFAR).
ViTConfig small(const std::string& name, int img, int patch, int chans, int classes, int dim, int depth,
                int heads, std::vector<double> mean, std::vector<double> std, std::string data) {
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
    if (img_size <= 0 || patch_size <= 0 || img_size % patch_size != 0) bad("img_size must be a multiple of patch_size");
    if (in_chans <= 0 || num_classes <= 0 || depth <= 0) bad("in_chans, num_classes and depth must be positive");
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
    range("num_classes", num_classes, 1, 1000000);
    range("embed_dim", embed_dim, 1, 16384);
    range("depth", depth, 1, 512);
    range("num_heads", num_heads, 1, embed_dim);
    range("mlp_ratio", mlp_ratio, 1e-3, 64);
    range("eval_resize", eval_resize, 0, 8192);
    for (size_t i = 0; i < mean.size(); ++i)
        if (!std::isfinite(mean[i]) || !std::isfinite(std[i]) || !(std[i] > 0)) bad("mean/std must be finite with std > 0");
    // Parameters, about: per block 4 D^2 (attention) + 2 r D^2 (MLP); patch embedding, positions, head.
    const double D = embed_dim, tokens = double(img_size / patch_size) * (img_size / patch_size) + 1;
    const double params = depth * (4.0 + 2.0 * mlp_ratio) * D * D + double(in_chans) * patch_size * patch_size * D +
                          tokens * D + D * num_classes;
    const double limit = double(fs::memoryLimitBytes());
    if (params * 4.0 > limit)
        bad("about " + std::to_string(int64_t(params)) + " parameters (" + std::to_string(int64_t(params * 4 / 1e6)) +
            " MB) would not fit in the memory limit of " + std::to_string(int64_t(limit / 1e6)) + " MB");
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
