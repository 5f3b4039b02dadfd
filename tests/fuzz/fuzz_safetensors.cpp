// safetensors header + data validation, then building a model from the file (architecture
// metadata, key mapping, shapes): only dilute::Error may come out.
#include "fuzz_common.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "util/error.h"
#include "util/runtime.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool once = [] {
        dilute::setThreads(1);
        return true;
    }();
    (void)once;
    const auto path = dilute::fuzz::writeFile("in.safetensors", data, size);
    try {
        auto f = dilute::io::readSafetensors(path);
        if (f.tensors.size() > 400) return 0;
        auto m = dilute::io::openModel(path);
        (void)m;
    } catch (const dilute::Error&) {}
    return 0;
}
