#pragma once
// Process-wide runtime set-up shared by the CLI, the GUI and the benchmarks.
#include <string>

namespace dilute {

/// Tunes glibc's allocator for large, short-lived tensors (once per process; setThreads calls it).
void configureAllocator();
/// Sets LibTorch's intra-op thread count (0 = all cores; more than the cores is clamped to them,
/// since oversubscribed OpenMP teams spin instead of working). Returns the count in effect.
int setThreads(int threads);
/// Threads of OpenBLAS itself (when it is the BLAS in use); setThreads keeps it at 1.
bool setBlasThreads(int n);
/// Resolves "auto" | "cpu" | "cuda" | "cuda:N" to a device string that exists here; throws if not.
std::string resolveDevice(const std::string& spec);
/// Peak resident set size of the process in bytes (VmHWM), and a way to reset it.
long long peakRssBytes();
void resetPeakRss();
long long currentRssBytes();

}  // namespace dilute
