// The JPEG band decoder (libjpeg-turbo driven directly) and the EXIF orientation reader, in
// memory. The first byte picks the band of rows asked for.
#include <cstring>

#include "data/dataset.h"
#include "data/jpeg.h"
#include "data/limits.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool once = [] {
        dilute::data::setMaxImagePixels(16u << 20);  // the fuzzer's memory limit, not the default 100 MP
        return true;
    }();
    (void)once;
    if (size < 1) return 0;
    const int band = data[0];
    ++data, --size;
    (void)dilute::data::exifOrientation(data, size);
    if (!dilute::data::looksLikeJpeg(data, size)) return 0;
    dilute::data::ImageU8 out;
    try {
        auto choose = [band](int w, int h) -> std::pair<int, int> {
            if (band == 0 || h <= 1) return {0, h};
            const int top = band % h;
            return {top, std::max(1, (h - top) / 2)};
        };
        if (dilute::data::decodeJpeg(data, size, "fuzz.jpg", choose, out)) {
            if (out.pixels.size() != size_t(out.height) * out.width * out.channels) std::abort();
        }
    } catch (const dilute::Error&) {}
    return 0;
}
