#include "data/resample.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "util/error.h"

namespace dilute::data {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS for 8-bit images

double bilinear(double x) {
    x = std::fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

double bicubic(double x) {
    constexpr double a = -0.5;
    x = std::fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

struct Coeffs {
    int ksize = 0;
    std::vector<int> bounds;  // per output pixel: first input pixel, count
    std::vector<int> k;       // ksize fixed-point weights per output pixel
};

// Pillow's precompute_coeffs + normalize_coeffs_8bpc for input [in0, in1) of an axis inSize long.
Coeffs coefficients(int inSize, double in0, double in1, int outSize, ResampleFilter f) {
    const double support0 = f == ResampleFilter::Bicubic ? 2.0 : 1.0;
    double (*filter)(double) = f == ResampleFilter::Bicubic ? bicubic : bilinear;
    const double scale = (in1 - in0) / outSize;
    const double filterscale = std::max(scale, 1.0);
    const double support = support0 * filterscale;
    Coeffs c;
    c.ksize = int(std::ceil(support)) * 2 + 1;
    c.bounds.resize(size_t(outSize) * 2);
    c.k.assign(size_t(outSize) * c.ksize, 0);
    std::vector<double> pre(c.ksize);
    for (int xx = 0; xx < outSize; ++xx) {
        const double center = in0 + (xx + 0.5) * scale;
        const double ss = 1.0 / filterscale;
        int xmin = int(center - support + 0.5);  // C's truncating cast, as Pillow
        if (xmin < 0) xmin = 0;
        int xmax = int(center + support + 0.5);
        if (xmax > inSize) xmax = inSize;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; ++x) {
            const double w = filter((x + xmin - center + 0.5) * ss);
            pre[x] = w;
            ww += w;
        }
        for (int x = 0; x < xmax; ++x) {
            double w = ww != 0.0 ? pre[x] / ww : pre[x];
            w *= double(1 << kPrecisionBits);
            c.k[size_t(xx) * c.ksize + x] = w < 0 ? int(-0.5 + w) : int(0.5 + w);
        }
        c.bounds[size_t(xx) * 2] = xmin;
        c.bounds[size_t(xx) * 2 + 1] = xmax;
    }
    return c;
}

inline uint8_t clip8(int v) {
    v >>= kPrecisionBits;  // arithmetic shift: floor, as Pillow
    return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// The hot loops are built for AVX2 too (32-bit integer multiplies: SSE2 has none) and the
// best version is picked at load time; the arithmetic, and so the result, is the same.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DILUTE_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define DILUTE_MULTIVERSION
#endif

DILUTE_MULTIVERSION
void accumulateRow(int* acc, const uint8_t* row, size_t n, int w) {
    for (size_t i = 0; i < n; ++i) acc[i] += int(row[i]) * w;
}

// One row of the horizontal pass, all channels of a pixel together (C known at compile time).
template <int C>
DILUTE_MULTIVERSION void horizontalRow(const uint8_t* row, uint8_t* out, int outW, const Coeffs& ch) {
    for (int xx = 0; xx < outW; ++xx) {
        const int xmin = ch.bounds[size_t(xx) * 2], xmax = ch.bounds[size_t(xx) * 2 + 1];
        const int* k = &ch.k[size_t(xx) * ch.ksize];
        const uint8_t* p = row + size_t(xmin) * C;
        int ss[C];
        for (int c = 0; c < C; ++c) ss[c] = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < xmax; ++x, p += C)
            for (int c = 0; c < C; ++c) ss[c] += int(p[c]) * k[x];
        for (int c = 0; c < C; ++c) out[size_t(xx) * C + c] = clip8(ss[c]);
    }
}

void horizontalRowAny(const uint8_t* row, uint8_t* out, int outW, int C, const Coeffs& ch) {
    for (int xx = 0; xx < outW; ++xx) {
        const int xmin = ch.bounds[size_t(xx) * 2], xmax = ch.bounds[size_t(xx) * 2 + 1];
        const int* k = &ch.k[size_t(xx) * ch.ksize];
        for (int c = 0; c < C; ++c) {
            int ss = 1 << (kPrecisionBits - 1);
            const uint8_t* p = row + size_t(xmin) * C + c;
            for (int x = 0; x < xmax; ++x) ss += int(p[size_t(x) * C]) * k[x];
            out[size_t(xx) * C + c] = clip8(ss);
        }
    }
}

}  // namespace

void resample(const ImageView& src, int bx, int by, int bw, int bh, int outW, int outH, ResampleFilter f,
              uint8_t* dst) {
    const int C = src.channels;
    if (!src.pixels || C < 1 || outW < 1 || outH < 1 || bw < 1 || bh < 1 || bx < 0 || by < 0 || bx + bw > src.width ||
        by + bh > src.height)
        throw Error("resample: the box lies outside the image, or a size is not positive");
    const size_t srcStride = src.rowBytes();
    const bool needH = outW != src.width || bx != 0 || bx + bw != outW;
    const bool needV = outH != src.height || by != 0 || by + bh != outH;
    if (!needH && !needV) {
        for (int r = 0; r < outH; ++r)
            std::copy_n(src.pixels + size_t(r) * srcStride, size_t(outW) * C, dst + size_t(r) * outW * C);
        return;
    }
    const Coeffs ch = coefficients(src.width, bx, bx + bw, outW, f);
    Coeffs cv = coefficients(src.height, by, by + bh, outH, f);
    // Rows the vertical pass reads.
    const int yFirst = cv.bounds[0];
    const int yLast = cv.bounds[size_t(outH - 1) * 2] + cv.bounds[size_t(outH - 1) * 2 + 1];
    std::vector<uint8_t> tmp;
    const uint8_t* in = src.pixels;
    size_t inStride = srcStride;
    if (needH) {
        for (int i = 0; i < outH; ++i) cv.bounds[size_t(i) * 2] -= yFirst;
        const int rows = yLast - yFirst;
        tmp.resize(size_t(rows) * outW * C);
        for (int yy = 0; yy < rows; ++yy) {
            const uint8_t* row = src.pixels + size_t(yy + yFirst) * srcStride;
            uint8_t* out = needV ? tmp.data() + size_t(yy) * outW * C : dst + size_t(yy) * outW * C;
            if (C == 3)
                horizontalRow<3>(row, out, outW, ch);
            else if (C == 1)
                horizontalRow<1>(row, out, outW, ch);
            else
                horizontalRowAny(row, out, outW, C, ch);
        }
        if (!needV) return;
        in = tmp.data();
        inStride = size_t(outW) * C;
    }
    const int width = needH ? outW : src.width;  // == outW when only the vertical pass runs
    std::vector<int> acc(size_t(width) * C);
    for (int yy = 0; yy < outH; ++yy) {
        const int ymin = cv.bounds[size_t(yy) * 2], ymax = cv.bounds[size_t(yy) * 2 + 1];
        const int* k = &cv.k[size_t(yy) * cv.ksize];
        std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
        for (int y = 0; y < ymax; ++y)  // row by row: contiguous reads
            accumulateRow(acc.data(), in + size_t(y + ymin) * inStride, acc.size(), k[y]);
        uint8_t* out = dst + size_t(yy) * outW * C;
        for (size_t i = 0; i < acc.size(); ++i) out[i] = clip8(acc[i]);
    }
}

std::pair<int, int> resizedSize(int width, int height, int size) {
    if (width <= 0 || height <= 0 || size <= 0) throw Error("resize: sizes must be positive");
    const bool wShort = width <= height;
    const int shortSide = wShort ? width : height, longSide = wShort ? height : width;
    const int newLong = int(double(size) * longSide / shortSide);  // Python: int(size * long / short)
    return wShort ? std::pair{size, newLong} : std::pair{newLong, size};
}

int centerCropOffset(int in, int out) { return int(std::nearbyint((in - out) / 2.0)); }

}  // namespace dilute::data
