// The RandAugment operations on 8-bit pixels, exactly as Pillow computes them (ImageOps,
// ImageEnhance, Image.transform / rotate; tests/reference checks them against Pillow): lookup
// tables, histograms, blends, the smoothing filter, affine resampling. The policy (names,
// parsing, planning the ops of an image) is randaugment.cpp.
#include "data/randaugment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "util/error.h"

namespace dilute::data {

namespace {

using Lut = std::array<uint8_t, 256>;

void applyLuts(uint8_t* p, size_t n, int c, const std::vector<Lut>& luts) {
    for (size_t i = 0; i < n; ++i)
        for (int k = 0; k < c; ++k) p[i * c + k] = luts[k][p[i * c + k]];
}
void applyLut(uint8_t* p, size_t n, int c, const Lut& lut) { applyLuts(p, n, c, std::vector<Lut>(c, lut)); }

std::array<long long, 256> histogram(const uint8_t* p, size_t n, int c, int k) {
    std::array<long long, 256> h{};
    for (size_t i = 0; i < n; ++i) ++h[p[i * c + k]];
    return h;
}

Lut identity() {
    Lut l;
    for (int i = 0; i < 256; ++i) l[i] = uint8_t(i);
    return l;
}

// ImageOps.autocontrast(cutoff=0): each band stretched from its lowest to its highest value.
Lut autocontrastLut(const std::array<long long, 256>& h) {
    int lo = 0, hi = 255;
    while (lo < 256 && !h[lo]) ++lo;
    while (hi >= 0 && !h[hi]) --hi;
    if (hi <= lo) return identity();
    const double scale = 255.0 / (hi - lo), offset = -lo * scale;
    Lut l;
    for (int i = 0; i < 256; ++i) {
        const int v = int(i * scale + offset);  // Python's int(): toward zero
        l[i] = uint8_t(std::clamp(v, 0, 255));
    }
    return l;
}

// ImageOps.equalize: the cumulative histogram, with the top bin's count left out of the step.
Lut equalizeLut(const std::array<long long, 256>& h) {
    long long sum = 0, last = 0;
    int nonzero = 0;
    for (int i = 0; i < 256; ++i)
        if (h[i]) sum += h[i], last = h[i], ++nonzero;
    if (nonzero <= 1) return identity();
    const long long step = (sum - last) / 255;
    if (!step) return identity();
    Lut l;
    long long n = step / 2;
    for (int i = 0; i < 256; ++i) {
        l[i] = uint8_t(std::min<long long>(255, n / step));  // Image.point clips to 8 bits
        n += h[i];
    }
    return l;
}

// Image.blend(in1, in2, alpha) (libImaging/Blend.c), alpha as the C float it is passed as.
void blend(const uint8_t* in1, uint8_t* in2out, size_t n, float alpha) {
    if (alpha == 0.0f) {
        std::memcpy(in2out, in1, n);
        return;
    }
    if (alpha == 1.0f) return;
    if (alpha >= 0 && alpha <= 1.0f) {
        for (size_t i = 0; i < n; ++i)
            in2out[i] = uint8_t(float(int(in1[i])) + alpha * float(int(in2out[i]) - int(in1[i])));
    } else {
        for (size_t i = 0; i < n; ++i) {
            const float t = float(int(in1[i])) + alpha * float(int(in2out[i]) - int(in1[i]));
            in2out[i] = t <= 0.0f ? 0 : t >= 255.0f ? 255 : uint8_t(t);
        }
    }
}

// Image.convert('L'): ITU-R 601-2 luma in fixed point.
uint8_t luma(const uint8_t* px) { return uint8_t((19595u * px[0] + 38470u * px[1] + 7471u * px[2] + 0x8000u) >> 16); }

// ImageFilter.SMOOTH (3x3, [1 1 1; 1 5 1; 1 1 1] / 13) as libImaging/Filter.c: float sums with
// a +0.5 rounding bias, the border rows and columns copied.
void smooth(const uint8_t* in, uint8_t* out, int w, int h, int c) {
    std::memcpy(out, in, size_t(w) * h * c);
    if (w < 3 || h < 3) return;
    const float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f;
    const size_t row = size_t(w) * c;
    for (int y = 1; y < h - 1; ++y) {
        const uint8_t *a = in + (y + 1) * row, *b = in + y * row, *d = in + (y - 1) * row;
        uint8_t* o = out + y * row;
        for (int x = 1; x < w - 1; ++x)
            for (int k = 0; k < c; ++k) {
                const size_t i = size_t(x) * c + k;
                float ss = 0.5f;
                ss += float(a[i - c]) * k1 + float(a[i]) * k1 + float(a[i + c]) * k1;
                ss += float(b[i - c]) * k1 + float(b[i]) * k5 + float(b[i + c]) * k1;
                ss += float(d[i - c]) * k1 + float(d[i]) * k1 + float(d[i + c]) * k1;
                o[i] = ss < 0.0f ? 0 : ss > 255.0f ? 255 : uint8_t(ss);
            }
    }
}

int pilFloor(double v) { return v < 0.0 ? int(std::floor(v)) : int(v); }

// Image.transform(AFFINE, a, BICUBIC | BILINEAR, fillcolor): libImaging/Geometry.c's generic
// transform, sampling at a * (x + 0.5, y + 0.5); samples outside the image keep the fill.
void affine(uint8_t* img, int w, int h, int c, const double a[6], const uint8_t fill[3], bool bicubic) {
    const std::vector<uint8_t> src(img, img + size_t(w) * h * c);
    auto at = [&](int x, int y, int k) { return double(src[(size_t(y) * w + x) * c + k]); };
    auto xclip = [&](int x) { return x < 0 ? 0 : x < w ? x : w - 1; };
    auto yclip = [&](int y) { return y < 0 ? 0 : y < h ? y : h - 1; };
    auto cubic = [](double v1, double v2, double v3, double v4, double d) {
        const double p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4;
        return p1 + d * (p2 + d * (p3 + d * p4));
    };
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const double xi = x + 0.5, yi = y + 0.5;
            double xin = a[0] * xi + a[1] * yi + a[2], yin = a[3] * xi + a[4] * yi + a[5];
            uint8_t* o = img + (size_t(y) * w + x) * c;
            if (xin < 0.0 || xin >= w || yin < 0.0 || yin >= h) {
                for (int k = 0; k < c; ++k) o[k] = fill[k];
                continue;
            }
            xin -= 0.5;
            yin -= 0.5;
            int ix = pilFloor(xin), iy = pilFloor(yin);
            const double dx = xin - ix, dy = yin - iy;
            for (int k = 0; k < c; ++k) {
                double v;
                if (bicubic) {
                    const int x0 = xclip(ix - 1), x1 = xclip(ix), x2 = xclip(ix + 1), x3 = xclip(ix + 2), y0 = iy - 1;
                    auto rowv = [&](int yy) {
                        return cubic(at(x0, yy, k), at(x1, yy, k), at(x2, yy, k), at(x3, yy, k), dx);
                    };
                    const double v1 = rowv(yclip(y0));
                    const double v2 = (y0 + 1 >= 0 && y0 + 1 < h) ? rowv(y0 + 1) : v1;
                    const double v3 = (y0 + 2 >= 0 && y0 + 2 < h) ? rowv(y0 + 2) : v2;
                    const double v4 = (y0 + 3 >= 0 && y0 + 3 < h) ? rowv(y0 + 3) : v3;
                    v = cubic(v1, v2, v3, v4, dy);
                    o[k] = v <= 0.0 ? 0 : v >= 255.0 ? 255 : uint8_t(v);
                } else {
                    const int x0 = xclip(ix), x1 = xclip(ix + 1);
                    const double v1 = at(x0, yclip(iy), k) + (at(x1, yclip(iy), k) - at(x0, yclip(iy), k)) * dx;
                    const double v2 = (iy + 1 >= 0 && iy + 1 < h)
                                          ? at(x0, iy + 1, k) + (at(x1, iy + 1, k) - at(x0, iy + 1, k)) * dx
                                          : v1;
                    v = v1 + (v2 - v1) * dy;
                    o[k] = uint8_t(v);
                }
            }
        }
}

// Python's round(v, 15): the nearest double to the decimal with 15 places.
double round15(double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.15f", v);
    return std::strtod(b, nullptr);
}

// Image.rotate(degrees, resample, fillcolor) about the centre, expand=False.
void rotate(uint8_t* img, int w, int h, int c, double degrees, const uint8_t fill[3], bool bicubic) {
    double angle = std::fmod(degrees, 360.0);  // Python's %: the sign of the divisor
    if (angle != 0 && angle < 0) angle += 360.0;
    if (angle == 0) return;  // Pillow returns a copy
    const double rad = -(angle * (M_PI / 180.0));
    double m[6] = {round15(std::cos(rad)),  round15(std::sin(rad)), 0.0,
                   round15(-std::sin(rad)), round15(std::cos(rad)), 0.0};
    const double cx = w / 2.0, cy = h / 2.0;
    m[2] = m[0] * -cx + m[1] * -cy + m[2];
    m[5] = m[3] * -cx + m[4] * -cy + m[5];
    m[2] += cx;
    m[5] += cy;
    affine(img, w, h, c, m, fill, bicubic);
}

// The ops that map each pixel value through a table (per channel for the histogram ones).
void applyLutOp(const AugStep& s, uint8_t* p, size_t n, int c) {
    Lut l;
    switch (s.op) {
        case AugOp::AutoContrast:
        case AugOp::Equalize: {
            std::vector<Lut> luts;
            for (int k = 0; k < c; ++k) {
                const auto hist = histogram(p, n, c, k);
                luts.push_back(s.op == AugOp::AutoContrast ? autocontrastLut(hist) : equalizeLut(hist));
            }
            applyLuts(p, n, c, luts);
            return;
        }
        case AugOp::Invert:
            for (int i = 0; i < 256; ++i) l[i] = uint8_t(255 - i);
            break;
        case AugOp::Posterize: {
            const int bits = int(s.arg);
            if (bits >= 8) return;
            const int mask = ~((1 << (8 - std::max(0, bits))) - 1) & 0xFF;
            for (int i = 0; i < 256; ++i) l[i] = uint8_t(i & mask);
            break;
        }
        case AugOp::Solarize:
            for (int i = 0; i < 256; ++i) l[i] = uint8_t(i < s.arg ? i : 255 - i);
            break;
        case AugOp::SolarizeAdd:
            for (int i = 0; i < 256; ++i) l[i] = uint8_t(i < 128 ? std::min(255, i + int(s.arg)) : i);
            break;
        default: throw Error("RandAugment: internal: not a table op");
    }
    applyLut(p, n, c, l);
}

// PIL's ImageEnhance ops: a blend of the image with a degenerate version of itself.
void applyEnhanceOp(const AugStep& s, uint8_t* p, int w, int h, int c) {
    const size_t n = size_t(w) * h, bytes = n * c;
    std::vector<uint8_t> degenerate(bytes, 0);  // Brightness: black
    switch (s.op) {
        case AugOp::Color:
            if (c == 1) return;  // the grey image is its own degenerate
            for (size_t i = 0; i < n; ++i)
                degenerate[i * 3] = degenerate[i * 3 + 1] = degenerate[i * 3 + 2] = luma(p + i * 3);
            break;
        case AugOp::Contrast: {
            // ImageStat's mean of the 'L' image, rounded as int(mean + 0.5).
            double sum = 0;
            for (size_t i = 0; i < n; ++i) sum += c == 1 ? p[i] : luma(p + i * 3);
            std::fill(degenerate.begin(), degenerate.end(), uint8_t(int(sum / double(n) + 0.5)));
            break;
        }
        case AugOp::Brightness: break;
        case AugOp::Sharpness: smooth(p, degenerate.data(), w, h, c); break;
        default: throw Error("RandAugment: internal: not an enhance op");
    }
    blend(degenerate.data(), p, bytes, float(s.arg));
}

// The geometric ops: PIL's Image.transform with an affine matrix (output -> input).
void applyGeometricOp(const AugStep& s, uint8_t* p, int w, int h, int c, const uint8_t fill[3], bool bicubic) {
    if (s.op == AugOp::Rotate) return rotate(p, w, h, c, s.arg, fill, bicubic);
    double a[6] = {1, 0, 0, 0, 1, 0};
    switch (s.op) {
        case AugOp::ShearX: a[1] = s.arg; break;
        case AugOp::ShearY: a[3] = s.arg; break;
        case AugOp::TranslateXRel: a[2] = s.arg * w; break;
        case AugOp::TranslateYRel: a[5] = s.arg * h; break;
        default: throw Error("RandAugment: internal: not a geometric op");
    }
    affine(p, w, h, c, a, fill, bicubic);
}

}  // namespace

void applyAugment(const AugStep& s, uint8_t* p, int w, int h, int c, const uint8_t fill[3], bool bicubic) {
    if (c != 1 && c != 3) throw Error("RandAugment: " + std::to_string(c) + " channels (expected 1 or 3)");
    if (w < 1 || h < 1) throw Error("RandAugment: empty image");
    switch (s.op) {
        case AugOp::AutoContrast:
        case AugOp::Equalize:
        case AugOp::Invert:
        case AugOp::Posterize:
        case AugOp::Solarize:
        case AugOp::SolarizeAdd: return applyLutOp(s, p, size_t(w) * h, c);
        case AugOp::Color:
        case AugOp::Contrast:
        case AugOp::Brightness:
        case AugOp::Sharpness: return applyEnhanceOp(s, p, w, h, c);
        case AugOp::Rotate:
        case AugOp::ShearX:
        case AugOp::ShearY:
        case AugOp::TranslateXRel:
        case AugOp::TranslateYRel: return applyGeometricOp(s, p, w, h, c, fill, bicubic);
    }
}

}  // namespace dilute::data
