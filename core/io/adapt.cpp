#include "io/adapt.h"

#include <cmath>

#include "model/posembed.h"
#include "util/error.h"

namespace dilute::io {

namespace {

std::string n(int v) { return std::to_string(v); }

void resize(model::ViTConfig& cfg, layouts::Tensors& tensors, int size, std::vector<std::string>* notes,
            const std::string& source) {
    const int p = cfg.patch_size;
    if (size < p || size > 4096 || size % p != 0) {
        const int below = std::max(p, size / p * p), above = (size / p + 1) * p;
        throw Error(source + ": --img-size " + n(size) + " is not a multiple of the patch size " + n(p) + " in [" +
                    n(p) + ", 4096] (the nearest are " + n(below) + " and " + n(above) + ")");
    }
    const int oldSize = cfg.img_size, oldGrid = cfg.gridSize();
    // timm keeps the crop fraction when the input size changes: resize = floor(size / crop_pct).
    const double crop = double(cfg.img_size) / double(std::max(1, cfg.eval_resize));
    cfg.img_size = size;
    cfg.eval_resize = std::max(size, static_cast<int>(std::floor(size / crop + 1e-9)));
    for (auto& [key, t] : tensors)
        if (key == "pos_embed") {
            // timm: no_embed_class models carry no prefix rows in pos_embed
            t = model::resamplePosEmbed(t, cfg.gridSize(), cfg.no_embed_class ? 0 : cfg.numPrefix());
            if (notes)
                notes->push_back("pos_embed resampled from a " + n(oldGrid) + "x" + n(oldGrid) + " to a " +
                                 n(cfg.gridSize()) + "x" + n(cfg.gridSize()) +
                                 " grid (bicubic, antialiased, as timm's resample_abs_pos_embed)");
        }
    if (notes) notes->push_back("image size " + n(oldSize) + " -> " + n(size) + " px (--img-size)");
}

}  // namespace

bool isHeadKey(const std::string& key) {
    return key == "head.weight" || key == "head.bias" || key == "head_dist.weight" || key == "head_dist.bias";
}

bool adaptSource(model::ViTConfig& cfg, layouts::Tensors& tensors, const Adaptation& a, std::vector<std::string>* notes,
                 const std::string& source) {
    if (a.img_size > 0 && a.img_size != cfg.img_size) resize(cfg, tensors, a.img_size, notes, source);
    if (!a.data.empty()) cfg.default_data = a.data;
    if (a.num_classes < 0 || a.num_classes == cfg.num_classes) return false;
    const int old = cfg.num_classes;
    cfg.num_classes = a.num_classes;
    cfg.class_names.clear();
    layouts::Tensors kept;
    for (auto& kv : tensors)
        if (!isHeadKey(kv.first)) kept.push_back(std::move(kv));
    tensors = std::move(kept);
    if (notes)
        notes->push_back(std::string(old ? "head replaced: " + n(old) + " -> " : "head added: ") + n(a.num_classes) +
                         " classes (the data's), initialised as for training from scratch" +
                         (cfg.distilled ? "; head_dist too" : ""));
    return true;
}

}  // namespace dilute::io
