#include "data/transforms.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

namespace {

// One 8-bit plane (S x S) to normalized floats v * a + b, mirrored when `flip`.
// For large planes (224 px: 600 KB of floats per image, into a batch buffer far larger than the
// caches) the floats are written with streaming (non-temporal) stores: no read-for-ownership of
// each destination line, about half the memory traffic, and the mirror is folded into the same
// pass. Small planes (28 px rows are not whole cache lines) take OpenCV's vectorised convertTo.
void planeToFloat(const cv::Mat& src, float* dst, float a, float b, bool flip) {
    const int S = src.cols;
#if defined(__SSE2__)
    const bool stream = S % 16 == 0 && S >= 64 && (reinterpret_cast<uintptr_t>(dst) & 15) == 0;
#else
    const bool stream = false;
#endif
    if (!stream) {
        cv::Mat d(src.rows, S, CV_32F, dst);
        src.convertTo(d, CV_32F, a, b);
        if (flip) cv::flip(d, d, 1);
        return;
    }
#if defined(__SSE2__)
    const __m128 A = _mm_set1_ps(a), B = _mm_set1_ps(b);
    const __m128i z = _mm_setzero_si128();
    for (int y = 0; y < src.rows; ++y) {
        const uint8_t* s = src.ptr<uint8_t>(y);
        float* d = dst + size_t(y) * S;
        for (int x = 0; x < S; x += 16) {
            __m128i v;
            if (!flip) {
                v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + x));
            } else {  // the 16 source bytes that mirror onto [x, x + 16), reversed (SSE2 has no pshufb)
                v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + S - 16 - x));
                v = _mm_shuffle_epi32(v, _MM_SHUFFLE(0, 1, 2, 3));
                v = _mm_shufflehi_epi16(_mm_shufflelo_epi16(v, _MM_SHUFFLE(2, 3, 0, 1)), _MM_SHUFFLE(2, 3, 0, 1));
                v = _mm_or_si128(_mm_slli_epi16(v, 8), _mm_srli_epi16(v, 8));
            }
            const __m128i lo = _mm_unpacklo_epi8(v, z), hi = _mm_unpackhi_epi8(v, z);
            _mm_stream_ps(d + x, _mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(_mm_unpacklo_epi16(lo, z)), A), B));
            _mm_stream_ps(d + x + 4, _mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(_mm_unpackhi_epi16(lo, z)), A), B));
            _mm_stream_ps(d + x + 8, _mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(_mm_unpacklo_epi16(hi, z)), A), B));
            _mm_stream_ps(d + x + 12, _mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(_mm_unpackhi_epi16(hi, z)), A), B));
        }
    }
    _mm_sfence();  // streaming stores are weakly ordered: publish them before the batch is handed over
#endif
}

}  // namespace

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
            const double lr = std::log(t.rrc_ratio_min) + U(rng) * (std::log(t.rrc_ratio_max) - std::log(t.rrc_ratio_min));
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
    return p;
}

std::pair<int, int> TransformPlan::rows() const { return {y, h}; }

void renderTransform(const ImageU8& img, const TransformPlan& p, const TransformConfig& t, float* out) {
    if (img.pixels.size() != size_t(img.height) * img.width * img.channels || img.channels < 1)
        throw Error("image buffer does not match its size");
    cv::Mat m(img.height, img.width, img.channels == 1 ? CV_8UC1 : CV_8UC3, const_cast<uint8_t*>(img.pixels.data()));
    const int S = t.out_size;
    const int interp = t.interpolation == "bicubic" ? cv::INTER_CUBIC : cv::INTER_LINEAR;
    cv::Mat r;
    if (p.crop) {
        // The crop in `img`'s own rows (img may hold only a band of the image: Dataset::imageRows).
        const cv::Rect box(p.x, p.y - img.top, p.w, p.h);
        if (box.x < 0 || box.y < 0 || box.x + box.width > m.cols || box.y + box.height > m.rows)
            throw Error("transform: the crop lies outside the decoded rows");
        // Bilinear for the random crop (torchvision's default): 3.5x cheaper than bicubic on
        // 224 px crops (0.18 vs 0.65 ms), which matters when decoding is the bottleneck.
        cv::resize(m(box), r, cv::Size(S, S), 0, 0, cv::INTER_LINEAR);
    } else if (!img.whole()) {
        throw Error("transform: needs the whole image, got a band of rows");
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
    const int C = t.channels;
    if (r.channels() != C) {
        cv::Mat c;
        if (C == 3)
            cv::cvtColor(r, c, cv::COLOR_GRAY2RGB);
        else
            cv::cvtColor(r, c, img.bgr ? cv::COLOR_BGR2GRAY : cv::COLOR_RGB2GRAY);
        r = c;
    }
    // Split into planes, then scale (and mirror) each straight into the CHW output.
    std::vector<cv::Mat> planes;
    cv::split(r, planes);
    const bool swap = img.bgr && C == 3;
    for (int c = 0; c < C; ++c) {
        const cv::Mat& src = planes[swap ? C - 1 - c : c];
        planeToFloat(src, out + size_t(c) * S * S, float(1.0 / (255.0 * t.std[c])), float(-t.mean[c] / t.std[c]), p.flip);
    }
}

void applyTransform(const ImageU8& img, const TransformConfig& t, std::mt19937_64& rng, float* out) {
    if (!img.whole()) throw Error("transform: needs the whole image, got a band of rows");
    renderTransform(img, planTransform(img.width, img.height, t, rng), t, out);
}

}  // namespace dilute::data
