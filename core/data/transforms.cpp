#include "data/transforms.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

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
    if (a == "default") a = cfg.img_size >= 64 ? "rrc+flip" : "flip";
    if (a == "none") {
        t.train = false;
    } else if (a == "flip") {
        t.rrc = false;
    } else if (a == "rrc+flip") {
        t.rrc = true;
        if (cfg.img_size < 64) t.rrc_scale_min = 0.35;  // 0.08 of a 28x28 image leaves nothing to see
    } else {
        throw Error("augmentation '" + augment + "': expected none, flip, rrc+flip or default");
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

void applyTransform(const ImageU8& img, const TransformConfig& t, std::mt19937_64& rng, float* out) {
    if (img.pixels.size() != size_t(img.height) * img.width * img.channels || img.channels < 1)
        throw Error("image buffer does not match its size");
    cv::Mat m(img.height, img.width, img.channels == 1 ? CV_8UC1 : CV_8UC3, const_cast<uint8_t*>(img.pixels.data()));
    const int S = t.out_size;
    const int interp = t.interpolation == "bicubic" ? cv::INTER_CUBIC : cv::INTER_LINEAR;
    cv::Mat r;
    std::uniform_real_distribution<double> U(0.0, 1.0);
    if (t.train && t.rrc) {
        // torchvision RandomResizedCrop: 10 tries at a random area / log-uniform ratio, else centre crop.
        const double area = double(m.rows) * m.cols;
        cv::Rect box(0, 0, m.cols, m.rows);
        bool found = false;
        for (int i = 0; i < 10 && !found; ++i) {
            const double a = area * (t.rrc_scale_min + U(rng) * (t.rrc_scale_max - t.rrc_scale_min));
            const double lr = std::log(t.rrc_ratio_min) + U(rng) * (std::log(t.rrc_ratio_max) - std::log(t.rrc_ratio_min));
            const double ratio = std::exp(lr);
            const int w = int(std::lround(std::sqrt(a * ratio))), h = int(std::lround(std::sqrt(a / ratio)));
            if (w > 0 && h > 0 && w <= m.cols && h <= m.rows) {
                const int x = int(U(rng) * (m.cols - w + 1)), y = int(U(rng) * (m.rows - h + 1));
                box = cv::Rect(std::min(x, m.cols - w), std::min(y, m.rows - h), w, h);
                found = true;
            }
        }
        if (!found) {
            const int s = std::min(m.cols, m.rows);
            box = cv::Rect((m.cols - s) / 2, (m.rows - s) / 2, s, s);
        }
        // Bilinear for the random crop (torchvision's default): 3.5x cheaper than bicubic on
        // 224 px crops (0.18 vs 0.65 ms), which matters when decoding is the bottleneck.
        cv::resize(m(box), r, cv::Size(S, S), 0, 0, cv::INTER_LINEAR);
    } else if (m.rows == S && m.cols == S) {
        r = m;
    } else {
        // Resize the shorter side to `resize`, then centre-crop S x S.
        const int R = std::max(t.resize, S);
        const double f = double(R) / std::min(m.rows, m.cols);
        const int nw = std::max(S, int(std::lround(m.cols * f))), nh = std::max(S, int(std::lround(m.rows * f)));
        cv::Mat big;
        cv::resize(m, big, cv::Size(nw, nh), 0, 0, interp);
        r = big(cv::Rect((nw - S) / 2, (nh - S) / 2, S, S));
    }
    const bool flip = t.train && t.hflip && U(rng) < 0.5;
    if (flip) {
        cv::Mat f;
        cv::flip(r, f, 1);
        r = f;
    }
    const int C = t.channels;
    if (r.channels() != C) {
        cv::Mat c;
        if (C == 3)
            cv::cvtColor(r, c, cv::COLOR_GRAY2RGB);
        else
            cv::cvtColor(r, c, img.bgr ? cv::COLOR_BGR2GRAY : cv::COLOR_RGB2GRAY);
        r = c;
    }
    // Split into planes and scale straight into the CHW output (vectorised by OpenCV).
    std::vector<cv::Mat> planes;
    cv::split(r, planes);
    const bool swap = img.bgr && C == 3;
    for (int c = 0; c < C; ++c) {
        cv::Mat dst(S, S, CV_32F, out + size_t(c) * S * S);
        const cv::Mat& src = planes[swap ? C - 1 - c : c];
        src.convertTo(dst, CV_32F, 1.0 / (255.0 * t.std[c]), -t.mean[c] / t.std[c]);
    }
}

}  // namespace dilute::data
