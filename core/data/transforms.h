#pragma once
// Preprocessing driven by the model preset: resize / crop / augment / channel conversion / normalize.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "model/preset.h"

namespace dilute::data {

struct TransformConfig {
    int out_size = 224;              // square output
    int channels = 3;                // the model's input channels
    std::vector<double> mean{0.485, 0.456, 0.406}, std{0.229, 0.224, 0.225};
    int resize = 248;                // eval: shorter side before the centre crop (== out_size: no crop)
    std::string interpolation = "bicubic";
    bool train = false;              // random-resized-crop (when rrc) and flip
    bool rrc = true;                 // random-resized-crop in training
    double rrc_scale_min = 0.08, rrc_scale_max = 1.0;
    double rrc_ratio_min = 3.0 / 4.0, rrc_ratio_max = 4.0 / 3.0;
    bool hflip = true;
};

/// Augmentation presets: "none", "flip", "rrc+flip" (timm-style training).
TransformConfig evalTransform(const model::ViTConfig& cfg);
TransformConfig trainTransform(const model::ViTConfig& cfg, const std::string& augment = "default");

/// Writes the transformed image as CHW floats into `out` (channels * out_size^2 values).
/// Deterministic for a given `rng` state.
void applyTransform(const ImageU8& img, const TransformConfig& t, std::mt19937_64& rng, float* out);

/// Per-sample generator seed: independent of worker count and batch boundaries.
uint64_t sampleSeed(uint64_t seed, int epoch, size_t index);

}  // namespace dilute::data
