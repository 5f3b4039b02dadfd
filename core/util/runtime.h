#pragma once
// Process-wide runtime set-up shared by the CLI, the GUI and the benchmarks.
#include <string>

namespace dilute {

/// Tunes glibc's allocator for large, short-lived tensors (once per process; setThreads calls it).
void configureAllocator();
/// Sets LibTorch's intra-op thread count (0 = all cores; more than the cores is clamped to them,
/// since oversubscribed OpenMP teams spin instead of working). Returns the count in effect.
int setThreads(int threads);
/// Threads of OpenBLAS itself (when it is the BLAS in use); setThreads sets it to LibTorch's
/// count when OpenMP's idle workers sleep (openMpPassive()), else to 1.
bool setBlasThreads(int n);
/// libgomp reads OMP_WAIT_POLICY once, when it loads (before main). Left unset, its idle workers
/// spin and starve OpenBLAS's threads, so BLAS must stay single-threaded: measured on 2 cores,
/// DeiT-S forward batch 32 at 9.4 img/s that way, 14.3 with PASSIVE and threaded BLAS (DeiT-Ti
/// training 9.7 -> 12.8 img/s). The heavy commands call this first: when the environment does
/// not choose a policy, it sets PASSIVE and re-executes the program with the same arguments (the
/// pid stays, so a launcher sees nothing). Returns only when there was nothing to do, or the
/// re-execution failed (then the program runs on as before). DILUTE_NO_REEXEC=1 turns it off.
void preferPassiveOpenMp(char** argv);
/// True when this process started with OMP_WAIT_POLICY=PASSIVE.
bool openMpPassive();
/// Resolves "auto" | "cpu" | "cuda" | "cuda:N" to a device string that exists here; throws if not.
/// A CUDA device also makes fp32 mean fp32 there: TF32 off for cuBLAS and cuDNN (PyTorch's C++
/// default leaves cuDNN's on), unless DILUTE_TF32=1; mixed precision is --amp / --precision.
std::string resolveDevice(const std::string& spec);

/// The current UTC time as ISO 8601 ("2026-12-06T16:41:37Z"): metrics events, manifests, config.json.
std::string utcNowIso();

}  // namespace dilute
