#pragma once
// Tensor memory, counted where LibTorch allocates it: a wrapper around the CPU allocator that
// keeps the live bytes and their peak. What a forward pass needs beyond its weights is the peak
// during the pass minus the bytes live before it, a figure of the pass alone (unlike the
// process's peak RSS, which the heap's earlier history and other threads move). The whole-block
// kernels take their buffers from the same allocator.
#include <cstdint>

namespace dilute::bench {

class TensorMemory {
public:
    /// Puts the counting allocator in front of LibTorch's CPU allocator. Tensors allocated before
    /// are freed as they were allocated, uncounted.
    static void install();
    /// LibTorch's own allocator again (a measurement's end: training and inference after it pay
    /// nothing for the counting); blocks counted before are still uncounted when freed.
    static void uninstall();
    /// install() for a scope.
    struct Scope {
        Scope() { install(); }
        ~Scope() { uninstall(); }
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;
    };
    static int64_t liveBytes();
    static int64_t peakBytes();
    /// The peak becomes the live bytes now.
    static void resetPeak();
};

}  // namespace dilute::bench
