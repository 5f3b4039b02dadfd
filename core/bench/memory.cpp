#include "bench/memory.h"

#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace dilute::bench {

namespace {

std::atomic<int64_t> live{0}, peak{0};

void raisePeak(int64_t now) {
    int64_t p = peak.load(std::memory_order_relaxed);
    while (now > p && !peak.compare_exchange_weak(p, now, std::memory_order_relaxed)) {}
}

// The sizes of the live counted blocks, and the wrapped allocator's deleter. The data pointer is
// also the context (as with LibTorch's own CPU allocator), so raw_allocate keeps working.
std::mutex sizesMutex;
std::unordered_map<void*, int64_t>& sizes() {
    static std::unordered_map<void*, int64_t> m;
    return m;
}
c10::DeleterFnPtr baseDeleter = nullptr;

void release(void* p) {
    if (!p) return;
    {
        std::lock_guard<std::mutex> lock(sizesMutex);
        auto it = sizes().find(p);
        if (it != sizes().end()) {
            live.fetch_sub(it->second, std::memory_order_relaxed);
            sizes().erase(it);
        }
    }
    baseDeleter(p);
}

class CountingAllocator final : public c10::Allocator {
public:
    explicit CountingAllocator(c10::Allocator* base) : base_(base) {}
    c10::DataPtr allocate(size_t n) const override {
        c10::DataPtr inner = base_->allocate(n);
        const auto device = inner.device();
        void* p = inner.release_context();  // the base allocator's context is its data pointer
        if (p) {
            std::lock_guard<std::mutex> lock(sizesMutex);
            sizes()[p] = static_cast<int64_t>(n);
        }
        raisePeak(live.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed) + static_cast<int64_t>(n));
        return {p, p, &release, device};
    }
    c10::DeleterFnPtr raw_deleter() const override { return &release; }

private:
    c10::Allocator* base_;
};

c10::Allocator* baseAllocator = nullptr;
CountingAllocator* counting() {
    static std::once_flag once;
    static CountingAllocator* c = nullptr;
    std::call_once(once, [] {
        baseAllocator = c10::GetCPUAllocator();
        baseDeleter = baseAllocator->raw_deleter();
        if (baseDeleter) c = new CountingAllocator(baseAllocator);  // lives as long as the blocks it counted
    });
    return c;
}

}  // namespace

void TensorMemory::install() {
    if (auto* c = counting()) c10::SetCPUAllocator(c, /*priority=*/100);  // none: the context is not the data
}

void TensorMemory::uninstall() {
    if (counting()) c10::SetCPUAllocator(baseAllocator, /*priority=*/100);
}

int64_t TensorMemory::liveBytes() { return live.load(std::memory_order_relaxed); }
int64_t TensorMemory::peakBytes() { return peak.load(std::memory_order_relaxed); }
void TensorMemory::resetPeak() { peak.store(live.load(std::memory_order_relaxed), std::memory_order_relaxed); }

}  // namespace dilute::bench
