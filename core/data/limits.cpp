#include "data/limits.h"

#include "util/bytes.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "util/error.h"

namespace dilute::data {
namespace {

std::atomic<uint64_t>& limit() {
    static std::atomic<uint64_t> v{kDefaultMaxImagePixels};
    return v;
}

// OpenCV reads its own limit once, at its first decode: give it ours unless the user set one.
const bool g_opencvLimit = [] {
    ::setenv("OPENCV_IO_MAX_IMAGE_PIXELS", std::to_string(kDefaultMaxImagePixels).c_str(), 0);
    return true;
}();

using bytes::be32;
using bytes::le32;

}  // namespace

uint64_t maxImagePixels() { return limit().load(); }

void setMaxImagePixels(uint64_t pixels) {
    (void)g_opencvLimit;
    limit().store(pixels);
    ::setenv("OPENCV_IO_MAX_IMAGE_PIXELS", std::to_string(pixels).c_str(), 1);
}

void checkImageSize(const std::string& file, int64_t width, int64_t height) {
    if (width <= 0 || height <= 0)
        throw Error(file + ": image header says " + std::to_string(width) + "x" + std::to_string(height));
    const uint64_t px = uint64_t(width) * uint64_t(height);
    if (px > maxImagePixels())
        throw Error(file + ": " + std::to_string(width) + "x" + std::to_string(height) + " = " + std::to_string(px) +
                    " pixels, over the limit of " + std::to_string(maxImagePixels()) +
                    " (--max-image-pixels); skipped before decoding");
}

bool headerSize(const uint8_t* d, size_t n, int64_t* w, int64_t* h) {
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (n >= 24 && std::memcmp(d, png, 8) == 0 && std::memcmp(d + 12, "IHDR", 4) == 0) {
        *w = be32(d + 16);
        *h = be32(d + 20);
        return true;
    }
    if (n >= 26 && d[0] == 'B' && d[1] == 'M') {
        *w = le32(d + 18);
        const int32_t hh = le32(d + 22);
        *h = hh < 0 ? -int64_t(hh) : hh;  // negative: a top-down bitmap
        return true;
    }
    return false;
}

}  // namespace dilute::data
