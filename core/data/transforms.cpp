// Transform configurations (timm's eval and train pipelines) and their plans: every random draw
// of a sample made up front, so the pixels (transform_render.cpp) can be rendered in bands.
#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "data/resample.h"
#include "util/error.h"

namespace dilute::data {

TransformConfig evalTransform(const model::ViTConfig& cfg) {
    TransformConfig t;
    t.out_size = cfg.img_size;
    t.channels = cfg.in_chans;
    t.mean = cfg.mean;
    t.std = cfg.std;
    t.resize = cfg.eval_resize;
    t.interpolation = cfg.interpolation;
    t.train = false;
    return t;
}

TransformConfig trainTransform(const model::ViTConfig& cfg, const std::string& augment) {
    TransformConfig t = evalTransform(cfg);
    t.train = true;
    std::string a = augment;
    if (a == "default") a = cfg.img_size >= 64 ? "deit" : "flip";
    if (a == "none") {
        t.train = false;
    } else if (a == "flip") {
        t.rrc = false;
    } else if (a == "rrc+flip" || a == "rrc+flip+erase" || a == "deit") {
        t.rrc = true;
        if (cfg.img_size < 64) t.rrc_scale_min = 0.35;  // 0.08 of a 28x28 image leaves nothing to see
        if (a != "rrc+flip") t.erase_prob = 0.25;       // DeiT: reprob 0.25, remode pixel, recount 1
        if (a == "deit") t.rand_augment = true;         // DeiT: rand-m9-mstd0.5-inc1
    } else {
        throw Error("augmentation '" + augment + "': expected none, flip, rrc+flip, rrc+flip+erase, deit or default");
    }
    return t;
}

uint64_t sampleSeed(uint64_t seed, int epoch, size_t index) {
    auto mix = [](uint64_t z) {  // splitmix64
        z += 0x9e3779b97f4a7c15ULL;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    };
    return mix(mix(mix(seed) ^ static_cast<uint64_t>(epoch)) ^ index);
}

TransformPlan planTransform(int width, int height, const TransformConfig& t, std::mt19937_64& rng) {
    TransformPlan p;
    std::uniform_real_distribution<double> U(0.0, 1.0);
    if (t.train && t.rrc) {
        // torchvision RandomResizedCrop: 10 tries at a random area / log-uniform ratio, else centre crop.
        p.crop = true;
        const double area = double(height) * width;
        bool found = false;
        for (int i = 0; i < 10 && !found; ++i) {
            const double a = area * (t.rrc_scale_min + U(rng) * (t.rrc_scale_max - t.rrc_scale_min));
            const double lr =
                std::log(t.rrc_ratio_min) + U(rng) * (std::log(t.rrc_ratio_max) - std::log(t.rrc_ratio_min));
            const double ratio = std::exp(lr);
            const int w = int(std::lround(std::sqrt(a * ratio))), h = int(std::lround(std::sqrt(a / ratio)));
            if (w > 0 && h > 0 && w <= width && h <= height) {
                const int x = int(U(rng) * (width - w + 1)), y = int(U(rng) * (height - h + 1));
                p.x = std::min(x, width - w);
                p.y = std::min(y, height - h);
                p.w = w;
                p.h = h;
                found = true;
            }
        }
        if (!found) {
            const int s = std::min(width, height);
            p.x = (width - s) / 2;
            p.y = (height - s) / 2;
            p.w = p.h = s;
        }
    } else {
        p.x = p.y = 0;
        p.w = width;
        p.h = height;
    }
    p.flip = t.train && t.hflip && U(rng) < 0.5;
    if (t.train && t.erase_prob > 0 && U(rng) < t.erase_prob) {
        // timm RandomErasing._erase: 10 tries at an area of 2%..1/3 and a log-uniform aspect ratio.
        const int S = t.out_size;
        const double area = double(S) * S;
        for (int attempt = 0; attempt < 10 && !p.erase; ++attempt) {
            const double target = (0.02 + U(rng) * (1.0 / 3.0 - 0.02)) * area;
            const double ratio = std::exp(std::log(0.3) + U(rng) * (std::log(1 / 0.3) - std::log(0.3)));
            const int h = int(std::lround(std::sqrt(target * ratio))), w = int(std::lround(std::sqrt(target / ratio)));
            if (w < S && h < S) {
                p.ey = std::min(int(U(rng) * (S - h + 1)), S - h);
                p.ex = std::min(int(U(rng) * (S - w + 1)), S - w);
                p.eh = h;
                p.ew = w;
                p.erase = true;
            }
        }
        p.erase_seed = rng();
    }
    // Drawn last, so the draws above are those of a transform without it.
    if (t.train && t.rand_augment) p.augment = planRandAugment(t.rand_augment_config, rng);
    return p;
}

std::pair<int, int> TransformPlan::rows() const { return {y, h}; }

void applyTransform(const ImageU8& img, const TransformConfig& t, std::mt19937_64& rng, float* out) {
    if (!img.whole()) throw Error("transform: needs the whole image, got a band of rows");
    renderTransform(img, planTransform(img.width, img.height, t, rng), t, out);
}

}  // namespace dilute::data
