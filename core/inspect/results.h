#pragma once
// What the inspection job hands back (SPEC section 7), as plain values: the CLI writes it, the
// workbench draws it (no LibTorch here). Tensors are flat, row-major, with their shapes named.
#include <cstdint>
#include <string>
#include <vector>

namespace dilute::inspect {

struct ImageRecord {
    std::string source;  // "fashion-mnist test #1234", or "input.safetensors [3]"
    int label = -1;      // -1: unknown (an input tensor)
    int pred = -1;       // the model's top-1 (-1: a model without head)
    double p_label = 0;  // softmax probability of the label (0 without a label)
    int pred_vs = -1;    // the second model's (with --vs)
    double p_label_vs = 0;
};

/// The per-image comparison of two models on the same images.
struct Comparison {
    std::string vs;
    double top1 = 0, top1_vs = 0;     // percent of the images
    std::vector<int> right_to_wrong;  // image positions: the model right, the second wrong
    std::vector<int> wrong_to_right;
    std::vector<int> largest_changes;          // by |p_label_vs - p_label|, largest first (at most 16)
    std::vector<int> confusion, confusion_vs;  // [classes x classes], row = label, column = prediction
};

struct InspectResult {
    std::string model, data, split, input;
    int depth = 0, heads = 0, grid = 0, patch = 0, prefix = 0, classes = 0;
    bool class_token = true;
    std::vector<std::string> modes;  // per block: full | diluted | removed
    std::vector<double> lambdas;     // per block (0 for removed)
    std::vector<std::string> class_names;
    std::vector<double> mean_distance;  // [L x H] input pixels; NaN for a removed block
    std::vector<ImageRecord> images;
    int thumb = 0;  // thumbnails: [N, thumb, thumb, 3] RGB, the model's input de-normalised
    std::vector<uint8_t> thumbnails;
    std::vector<float> cls;      // [N, L, H, P] class-token attention (empty without a class token); NaN removed
    std::vector<float> rollout;  // [N, P]
    std::vector<float> logits, logits_vs;  // [N, classes]
    bool compared = false;
    Comparison comparison;
    double seconds = 0;

    int patches() const { return grid * grid; }
    size_t count() const { return images.size(); }
    /// The class-token map of image n, block l, head h: P floats (nullptr without a class token).
    const float* clsMap(size_t n, int l, int h) const {
        return cls.empty() ? nullptr : cls.data() + ((n * depth + l) * heads + h) * size_t(patches());
    }
    const float* rolloutMap(size_t n) const { return rollout.data() + n * size_t(patches()); }
};

}  // namespace dilute::inspect
