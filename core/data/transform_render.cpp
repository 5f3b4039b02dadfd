// The pixels of a planned transform: crop or resize, flip, RandAugment, normalise into CHW
// floats, erase; every draw was made by planTransform (transforms.cpp).
#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "data/randaugment.h"
#include "data/resample.h"
#include "util/error.h"

namespace dilute::data {
namespace {

// One 8-bit plane (S x S) to normalized floats v * a + b, mirrored when `flip`.
// For large planes (224 px: 600 KB of floats per image, into a batch buffer far larger than the
// caches) the floats are written with streaming (non-temporal) stores: no read-for-ownership of
// each destination line, about half the memory traffic, and the mirror is folded into the same
// pass. Small planes (28 px rows are not whole cache lines) take a plain (auto-vectorised) loop.
void planeToFloat(const uint8_t* src, int S, float* dst, float a, float b, bool flip) {
#if defined(__SSE2__)
    const bool stream = S % 16 == 0 && S >= 64 && (reinterpret_cast<uintptr_t>(dst) & 15) == 0;
#else
    const bool stream = false;
#endif
    if (!stream) {
        for (int y = 0; y < S; ++y) {
            const uint8_t* s = src + size_t(y) * S;
            float* d = dst + size_t(y) * S;
            if (!flip)
                for (int x = 0; x < S; ++x) d[x] = float(s[x]) * a + b;
            else
                for (int x = 0; x < S; ++x) d[x] = float(s[S - 1 - x]) * a + b;
        }
        return;
    }
#if defined(__SSE2__)
    const __m128 A = _mm_set1_ps(a), B = _mm_set1_ps(b);
    const __m128i z = _mm_setzero_si128();
    for (int y = 0; y < S; ++y) {
        const uint8_t* s = src + size_t(y) * S;
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

// The pixels of box (x, y, w, h) of `img` (y in the image's own rows) with the model's channel
// count, as PIL's convert() does at load time: gray -> RGB replicates; RGB -> L is ITU-R 601-2
// luma, (19595 R + 38470 G + 7471 B + 2^15) >> 16. OpenCV's B, G, R order is undone here.
// Returns a view of `img` when nothing needs converting, else of `buf`.
ImageView convertRegion(const ImageU8& img, int x, int y, int w, int h, int C, std::vector<uint8_t>& buf) {
    const int IC = img.channels;
    const size_t stride = size_t(img.width) * IC;
    const uint8_t* base = img.pixels.data();
    if (IC == C && !(img.bgr && C == 3)) return {base, img.width, img.height, IC, stride};
    buf.resize(size_t(w) * h * C);
    for (int r = 0; r < h; ++r) {
        const uint8_t* s = base + size_t(y + r) * stride + size_t(x) * IC;
        uint8_t* d = buf.data() + size_t(r) * w * C;
        for (int i = 0; i < w; ++i, s += IC, d += C) {
            const uint8_t R = img.bgr ? s[IC - 1] : s[0], G = IC >= 3 ? s[1] : s[0], B = img.bgr ? s[0] : s[IC - 1];
            if (C == 1)
                d[0] = IC == 1 ? s[0] : uint8_t((19595u * R + 38470u * G + 7471u * B + 0x8000u) >> 16);
            else if (IC == 1)
                d[0] = d[1] = d[2] = s[0];
            else
                d[0] = R, d[1] = G, d[2] = B;
        }
    }
    return {buf.data(), w, h, C, 0};
}

ResampleFilter filterOf(const TransformConfig& t) {
    return t.interpolation == "bicubic" ? ResampleFilter::Bicubic : ResampleFilter::Bilinear;
}

// timm's RandomResizedCropAndInterpolation: the crop (in `img`'s own rows: img may hold only a
// band of the image, Dataset::imageRows), then an (antialiased) resize to S x S with the preset's
// filter (bicubic for the DeiTs, bilinear for the small presets). Returns S x S x C pixels.
const uint8_t* trainCrop(const ImageU8& img, const TransformPlan& p, const TransformConfig& t,
                         std::vector<uint8_t>& converted, std::vector<uint8_t>& resized) {
    const int S = t.out_size, C = t.channels, by = p.y - img.top;
    if (p.x < 0 || by < 0 || p.w < 1 || p.h < 1 || p.x + p.w > img.width || by + p.h > img.height)
        throw Error("transform: the crop lies outside the decoded rows");
    ImageView v = convertRegion(img, p.x, by, p.w, p.h, C, converted);
    if (v.pixels == img.pixels.data()) v = v.region(p.x, by, p.w, p.h);  // not converted: the crop of `img`
    resized.resize(size_t(S) * S * C);
    resample(v, 0, 0, p.w, p.h, S, S, filterOf(t), resized.data());
    return resized.data();
}

// timm's eval: Resize(shorter side -> resize) with the preset's filter, CenterCrop(S).
const uint8_t* evalResizeCrop(const ImageU8& img, const TransformConfig& t, std::vector<uint8_t>& converted,
                              std::vector<uint8_t>& resized) {
    if (!img.whole()) throw Error("transform: needs the whole image, got a band of rows");
    const int S = t.out_size, C = t.channels;
    const ImageView v = convertRegion(img, 0, 0, img.width, img.height, C, converted);
    const auto [nw, nh] = resizedSize(img.width, img.height, std::max(t.resize, S));
    const uint8_t* big = v.pixels;
    if (nw != img.width || nh != img.height) {
        resized.resize(size_t(nw) * nh * C);
        resample(v, 0, 0, img.width, img.height, nw, nh, filterOf(t), resized.data());
        big = resized.data();
    }
    if (nw == S && nh == S) return big;
    if (nw < S || nh < S) throw Error("transform: the resized image is smaller than the crop");
    const int top = centerCropOffset(nh, S), left = centerCropOffset(nw, S);
    std::vector<uint8_t> crop(size_t(S) * S * C);
    for (int r = 0; r < S; ++r)
        std::copy_n(big + (size_t(top + r) * nw + left) * C, size_t(S) * C, crop.data() + size_t(r) * S * C);
    resized.swap(crop);
    return resized.data();
}

// timm's order: flip, then RandAugment on the 8-bit image (filled with the mean colour).
void flipAndAugment(const TransformPlan& p, const TransformConfig& t, std::vector<uint8_t>& work) {
    const int S = t.out_size, C = t.channels;
    if (p.flip)
        for (int r = 0; r < S; ++r)
            for (int a = 0, b = S - 1; a < b; ++a, --b)
                std::swap_ranges(work.data() + (size_t(r) * S + a) * C, work.data() + (size_t(r) * S + a + 1) * C,
                                 work.data() + (size_t(r) * S + b) * C);
    uint8_t fill[3];
    for (int c = 0; c < 3; ++c)
        fill[c] = uint8_t(std::min(255L, std::lround(255.0 * t.mean[std::min<size_t>(c, t.mean.size() - 1)])));
    for (const auto& s : p.augment) applyAugment(s, work.data(), S, S, C, fill, t.interpolation == "bicubic");
}

// Random erasing after normalising, as timm: per-pixel N(0, 1) in every channel.
void eraseBox(const TransformPlan& p, const TransformConfig& t, float* out) {
    const int S = t.out_size;
    if (p.ex < 0 || p.ey < 0 || p.ew < 1 || p.eh < 1 || p.ex + p.ew > S || p.ey + p.eh > S)
        throw Error("transform: the erased box lies outside the image");
    std::mt19937_64 g(p.erase_seed);
    std::normal_distribution<float> N(0.f, 1.f);
    for (int c = 0; c < t.channels; ++c)
        for (int y = p.ey; y < p.ey + p.eh; ++y) {
            float* row = out + (size_t(c) * S + y) * S;
            for (int x = p.ex; x < p.ex + p.ew; ++x) row[x] = N(g);
        }
}

}  // namespace

void renderTransform(const ImageU8& img, const TransformPlan& p, const TransformConfig& t, float* out) {
    if (img.pixels.size() != size_t(img.height) * img.width * img.channels || img.channels < 1 ||
        (img.channels != 1 && img.channels != 3))
        throw Error("image buffer does not match its size");
    const int S = t.out_size, C = t.channels;
    if (C != 1 && C != 3) throw Error("transform: " + std::to_string(C) + " channels (expected 1 or 3)");
    std::vector<uint8_t> converted, resized;
    const uint8_t* hwc = p.crop ? trainCrop(img, p, t, converted, resized) : evalResizeCrop(img, t, converted, resized);
    bool mirror = p.flip;
    if (!p.augment.empty()) {
        std::vector<uint8_t> work(hwc, hwc + size_t(S) * S * C);
        flipAndAugment(p, t, work);
        resized.swap(work);
        hwc = resized.data();
        mirror = false;
    }
    // Planes, then scale (and mirror) each straight into the CHW output.
    std::vector<uint8_t> plane(C == 1 ? 0 : size_t(S) * S);
    for (int c = 0; c < C; ++c) {
        const uint8_t* src = hwc;
        if (C > 1) {
            for (size_t i = 0; i < plane.size(); ++i) plane[i] = hwc[i * C + c];
            src = plane.data();
        }
        planeToFloat(src, S, out + size_t(c) * S * S, float(1.0 / (255.0 * t.std[c])), float(-t.mean[c] / t.std[c]),
                     mirror);
    }
    if (p.erase) eraseBox(p, t, out);
}

}  // namespace dilute::data
