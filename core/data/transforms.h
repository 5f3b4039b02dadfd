#pragma once
// Preprocessing driven by the model preset: resize / crop / augment / channel conversion / normalize.
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "data/randaugment.h"
#include "model/preset.h"

namespace dilute::data {

struct TransformConfig {
    int out_size = 224;  // square output
    int channels = 3;    // the model's input channels
    std::vector<double> mean{0.485, 0.456, 0.406}, std{0.229, 0.224, 0.225};
    int resize = 248;  // eval: shorter side before the centre crop (== out_size: no crop)
    std::string interpolation = "bicubic";
    bool train = false;  // random-resized-crop (when rrc) and flip
    bool rrc = true;     // random-resized-crop in training
    double rrc_scale_min = 0.08, rrc_scale_max = 1.0;
    double rrc_ratio_min = 3.0 / 4.0, rrc_ratio_max = 4.0 / 3.0;
    bool hflip = true;
    // timm's RandomErasing (mode 'pixel', one box): with this probability a box of 2%..1/3 of the
    // image, aspect ratio 0.3..3.3 (log-uniform), is filled with N(0, 1) noise after normalising.
    double erase_prob = 0.0;
    // timm's RandAugment on the 8-bit crop (after the flip), filling with the mean colour.
    bool rand_augment = false;
    RandAugmentConfig rand_augment_config;  // DeiT's rand-m9-mstd0.5-inc1 by default
};

/// Augmentation presets: "none", "flip", "rrc+flip", "rrc+flip+erase" (DeiT's random-resized-crop
/// with the preset's filter, flip and RandomErasing 0.25), "deit" (the same with RandAugment
/// rand-m9-mstd0.5-inc1 before the erasing: DeiT's whole recipe); "default": deit for 224-px
/// presets, flip for the small ones.
TransformConfig evalTransform(const model::ViTConfig& cfg);
TransformConfig trainTransform(const model::ViTConfig& cfg, const std::string& augment = "default");

/// Every random choice of one transform, made before the image is decoded (so a decoder can skip
/// what the crop does not use). Coordinates are in the full image.
struct TransformPlan {
    bool crop = false;  // random-resized-crop of (x, y, w, h); otherwise resize/centre-crop of the whole image
    int x = 0, y = 0, w = 0, h = 0;
    bool flip = false;
    std::vector<AugStep> augment;  // RandAugment's ops, in order (empty: none applies)
    bool erase = false;            // RandomErasing: the box (ex, ey, ew, eh) of the output, noise from erase_seed
    int ex = 0, ey = 0, ew = 0, eh = 0;
    uint64_t erase_seed = 0;
    std::pair<int, int> rows() const;  // the band of rows the crop reads: {y, h}
};
/// Draws the plan for an image of width x height from `rng` (the same draws in the same order
/// whether or not the image is decoded in part).
TransformPlan planTransform(int width, int height, const TransformConfig& t, std::mt19937_64& rng);
/// Writes the transformed image as CHW floats into `out` (channels * out_size^2 values). `img` may
/// be a band of rows (img.top) when the plan is a crop inside that band.
void renderTransform(const ImageU8& img, const TransformPlan& p, const TransformConfig& t, float* out);
/// planTransform + renderTransform on a whole image. Deterministic for a given `rng` state.
void applyTransform(const ImageU8& img, const TransformConfig& t, std::mt19937_64& rng, float* out);

/// Per-sample generator seed: independent of worker count and batch boundaries.
uint64_t sampleSeed(uint64_t seed, int epoch, size_t index);

}  // namespace dilute::data
