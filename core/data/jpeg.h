#pragma once
// JPEG decoding with libjpeg-turbo directly, straight to RGB.
//
// Same pixels as OpenCV's imread/imdecode (which link the same libjpeg-turbo), at less than half
// the cost: OpenCV 4.6 asks libjpeg for RGB and then swaps to BGR in a scalar loop that takes
// about half of its decode time. Decoding can also stop early and skip rows nobody reads (the
// random-resized-crop only needs its own band of rows); skipped rows cost only their entropy decoding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/dataset.h"

namespace dilute::data {

/// True when `data` starts with a JPEG SOI marker.
bool looksLikeJpeg(const uint8_t* data, size_t size);

/// Decodes the JPEG in `data` to 3-channel RGB. `choose(width, height)` (may be null: all rows) is
/// called once with the image size and returns the band of rows to decode; `out` then holds that
/// band (`out.top`, `out.full_height`). Returns false, leaving `out` empty, for files this path
/// does not handle the way OpenCV does: CMYK/YCCK colour, or an EXIF orientation other than 1
/// (OpenCV rotates those). Throws dilute::Error naming `name` for a corrupt or truncated file.
bool decodeJpeg(const uint8_t* data, size_t size, const std::string& name, const RowChooser& choose, ImageU8& out);

/// The EXIF orientation (1..8) in a JPEG's APP1 segment, or 1 when there is none.
int exifOrientation(const uint8_t* app1, size_t size);

}  // namespace dilute::data
