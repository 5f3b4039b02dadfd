// CIFAR-10 / CIFAR-100 binary batches. Input: 1 flag byte (bit 0: CIFAR-100, bit 1: coarse
// labels), then the file.
#include "data/dataset.h"
#include "fuzz_common.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const bool hundred = data[0] & 1, coarse = data[0] & 2;
    const std::string dir = dilute::fuzz::freshDir("cifar");
    FILE* f = std::fopen((dir + (hundred ? "/test.bin" : "/test_batch.bin")).c_str(), "wb");
    if (size > 1) std::fwrite(data + 1, 1, size - 1, f);
    std::fclose(f);
    try {
        auto ds = dilute::data::openCifar(dir, "test", hundred, coarse);
        for (size_t i = 0; i < std::min<size_t>(ds->size(), 4); ++i) {
            auto im = ds->image(i);
            const int l = ds->label(i);
            if (l < 0 || l >= ds->numClasses()) std::abort();  // a label the loss would index with
            if (im.pixels.size() != size_t(im.height) * im.width * im.channels) std::abort();
        }
    } catch (const dilute::Error&) {}
    return 0;
}
