#pragma once
// Pillow's resampling of 8-bit images, reproduced exactly (Image.resize with BILINEAR or BICUBIC
// and an integer box; Pillow's src/libImaging/Resample.c): separable, horizontal pass first,
// antialiased when downscaling (the filter is stretched by the scale), coefficients normalised
// then rounded to 22-bit fixed point, each pass rounded and clipped to 8 bits. This is what
// torchvision's transforms do to PIL images, so timm's eval pipeline (Resize + CenterCrop) and
// RandomResizedCrop give the same pixels here as in Python.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dilute::data {

enum class ResampleFilter { Bilinear, Bicubic };  // bicubic: a = -0.5, support 2 (Pillow's)

struct ImageView {
    const uint8_t* pixels = nullptr;  // HWC
    int width = 0, height = 0, channels = 0;
    size_t stride = 0;  // bytes from one row to the next (0: width * channels)
    size_t rowBytes() const { return stride ? stride : size_t(width) * channels; }
    /// The w x h region at (x, y) as an image of its own (torchvision's crop: nothing outside it is read).
    ImageView region(int x, int y, int w, int h) const {
        return {pixels + size_t(y) * rowBytes() + size_t(x) * channels, w, h, channels, rowBytes()};
    }
};

/// Resamples the box (x, y, w, h) of `src` to outW x outH (channels kept) into `dst`
/// (outW * outH * channels bytes). The box must lie inside the image.
void resample(const ImageView& src, int x, int y, int w, int h, int outW, int outH, ResampleFilter f, uint8_t* dst);

/// torchvision's Resize(size) of a W x H image: the shorter side becomes `size`, the longer
/// int(size * long / short) (truncated, as Python's int()). Returns {width, height}.
std::pair<int, int> resizedSize(int width, int height, int size);

/// torchvision's CenterCrop offset: int(round((in - out) / 2.0)), ties to even as Python's round().
int centerCropOffset(int in, int out);

}  // namespace dilute::data
