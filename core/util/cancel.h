#pragma once
// Cooperative cancellation: long jobs check the token between steps and throw Cancelled.
#include <atomic>
#include <memory>

#include "util/error.h"

namespace dilute {

class CancelToken {
public:
    void cancel() { flag_.store(true, std::memory_order_relaxed); }
    void reset() { flag_.store(false, std::memory_order_relaxed); }
    bool cancelled() const { return flag_.load(std::memory_order_relaxed); }
    void throwIfCancelled() const {
        if (cancelled()) throw Cancelled();
    }

private:
    std::atomic<bool> flag_{false};
};

/// Progress of a long job: done of total units, with a short phase label.
struct Progress {
    std::string phase;
    long long done = 0;
    long long total = 0;
};

}  // namespace dilute
