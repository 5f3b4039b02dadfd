// torch.save files (issue 26, part 5): the zip archive and the legacy format, the restricted
// unpickler, the storages, then building a model from the state dict found (checkpoint wrappers,
// DDP prefixes, the layouts of io/layouts.h). Only dilute::Error may come out; nothing from the
// file is ever executed (a pickle naming os.system is refused by name).
#include "fuzz_common.h"
#include "io/torchfile.h"
#include "io/weights.h"
#include "util/error.h"
#include "util/runtime.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool once = [] {
        dilute::setThreads(1);
        return true;
    }();
    (void)once;
    const auto path = dilute::fuzz::writeFile("in.pth", data, size);
    try {
        const auto sd = dilute::io::readTorchStateDict(path);
        if (sd.tensors.size() > 400) return 0;
        dilute::io::OpenOptions o;
        o.heads = 2;  // the seeds' width says nothing of their heads
        auto m = dilute::io::openModel(path, o);
        (void)m;
    } catch (const dilute::Error&) {}
    return 0;
}
