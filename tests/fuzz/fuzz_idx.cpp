// IDX images + labels, raw or gzipped. Input: 1 flag byte (bit 0: images gzipped, bit 1:
// labels gzipped), 2 bytes little-endian: length of the images part; then images, then labels.
#include <zlib.h>

#include "data/dataset.h"
#include "fuzz_common.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3) return 0;
    const uint8_t flags = data[0];
    const size_t split = std::min(size - 3, size_t(data[1]) | size_t(data[2]) << 8);
    const std::string dir = dilute::fuzz::freshDir("idx");
    const uint8_t* img = data + 3;
    const uint8_t* lab = img + split;
    auto write = [&](const char* name, const uint8_t* p, size_t n, bool gz) {
        const std::string path = dir + "/" + name;
        if (gz) {
            gzFile g = gzopen((path + ".gz").c_str(), "wb1");
            if (n) gzwrite(g, p, unsigned(n));
            gzclose(g);
            return;
        }
        FILE* f = std::fopen(path.c_str(), "wb");
        if (n) std::fwrite(p, 1, n, f);
        std::fclose(f);
    };
    write("t10k-images-idx3-ubyte", img, split, flags & 1);
    write("t10k-labels-idx1-ubyte", lab, size - 3 - split, flags & 2);
    try {
        auto ds = dilute::data::openDataset("idx:" + dir, "test");
        for (size_t i = 0; i < std::min<size_t>(ds->size(), 4); ++i) {
            auto im = ds->image(i);
            (void)ds->label(i);
            if (im.pixels.size() != size_t(im.height) * im.width * im.channels) std::abort();
        }
        (void)ds->numClasses();
    } catch (const dilute::Error&) {}
    return 0;
}
