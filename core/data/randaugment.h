#pragma once
// timm's RandAugment ("rand-m9-mstd0.5-inc1", DeiT's recipe), with each operation computing the
// pixels Pillow computes (Debian's python3-pil is the reference in the tests): the op choice and
// its random magnitude are drawn when the transform is planned, the ops run on the 8-bit image
// after the random-resized-crop and the flip, before normalisation (timm's order).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace dilute::data {

struct RandAugmentConfig {
    int magnitude = 9;           // m: 0..10 on timm's scale
    int layers = 2;              // n: ops per image, drawn with replacement
    double magnitude_std = 0.5;  // mstd: magnitude ~ N(m, mstd) per op (> 100: uniform in [0, m])
    double prob = 0.5;           // p: each drawn op applies with this probability
    bool increasing = true;      // inc1: the 'increasing' op set (severity grows with m)
    std::string spec() const;    // back to timm's string
};

/// Parses timm's config string: "rand" then any of -mM -nN -mstdS -pP -incI (e.g. rand-m9-mstd0.5-inc1).
/// Throws dilute::Error naming the part it does not understand.
RandAugmentConfig parseRandAugment(const std::string& spec);

enum class AugOp {
    AutoContrast,
    Equalize,
    Invert,
    Rotate,
    Posterize,
    Solarize,
    SolarizeAdd,
    Color,
    Contrast,
    Brightness,
    Sharpness,
    ShearX,
    ShearY,
    TranslateXRel,
    TranslateYRel
};
const char* augOpName(AugOp op);

/// One op as drawn: its argument is what timm's level function returns (degrees, bits kept,
/// threshold, amount added, enhance factor, shear factor, fraction of the image size).
struct AugStep {
    AugOp op = AugOp::Invert;
    double arg = 0;
};

/// timm's RandAugment.__call__ and AugmentOp.__call__: `layers` ops drawn uniformly with
/// replacement from the 15 of the set; each kept with probability p, its magnitude drawn from
/// N(m, mstd) and clipped to [0, 10], the sign of rotations, shears, translations and enhance
/// offsets random. Returns the ops that apply, in order.
std::vector<AugStep> planRandAugment(const RandAugmentConfig& c, std::mt19937_64& rng);

/// The op on an 8-bit image (w x h, c = 1 or 3 interleaved channels), in place, as Pillow does it
/// (ImageOps, ImageEnhance, Image.transform / rotate). `fill` (per channel) fills what geometric
/// ops move in; `bicubic` (else bilinear) is their filter.
void applyAugment(const AugStep& s, uint8_t* pixels, int w, int h, int c, const uint8_t fill[3], bool bicubic);

}  // namespace dilute::data
