#include "util/runtime.h"

#include <torch/torch.h>

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <thread>

#include "util/error.h"
#include "util/torchcompat.h"

namespace dilute {

void configureAllocator() {
    static const bool done = [] {
        // Batches are large (64 x 3 x 224 x 224 floats = 38 MB). Above glibc's mmap threshold
        // (at most 32 MB) every batch is a fresh mmap whose pages fault in one by one and are
        // unmapped again after use: measured 1,181 vs 844 images/s for the folder loader.
        // Keep such blocks in the heap for reuse instead.
        mallopt(M_MMAP_THRESHOLD, 512 << 20);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        return true;
    }();
    (void)done;
}

int setThreads(int threads) {
    configureAllocator();
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (threads <= 0 || threads > cores) threads = cores;
    torch::set_num_threads(threads);
    // LibTorch parallelises element-wise work over its own OpenMP threads and calls BLAS for the
    // matrix products. With spinning OpenMP workers, a threaded OpenBLAS fights them for the
    // cores (measured: 453 vs 1,361 img/s training vit_nano on 2 cores): single-threaded BLAS.
    // With sleeping workers (OMP_WAIT_POLICY=PASSIVE, see preferPassiveOpenMp), BLAS takes every
    // thread: 1,368 img/s there, and DeiT-S forward 14.3 vs 9.4 img/s.
    // DILUTE_BLAS_THREADS overrides it (to measure the choice).
    const char* blas = std::getenv("DILUTE_BLAS_THREADS");
    setBlasThreads(blas && *blas ? std::max(1, std::atoi(blas)) : openMpPassive() ? threads : 1);
    return torch::get_num_threads();
}

bool openMpPassive() {
    static const bool passive = [] {
        const char* p = std::getenv("OMP_WAIT_POLICY");
        return p && (std::string(p) == "PASSIVE" || std::string(p) == "passive");
    }();
    return passive;
}

void preferPassiveOpenMp(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY")) return;  // the user's (or an earlier run's) choice
    const char* off = std::getenv("DILUTE_NO_REEXEC");
    if (off && *off && std::string(off) != "0") return;
    if (!argv || !argv[0]) return;
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    ::execv("/proc/self/exe", argv);
    ::unsetenv("OMP_WAIT_POLICY");  // exec failed: carry on as we were (spinning, BLAS single-threaded)
}

bool setBlasThreads(int n) {
    using SetFn = void (*)(int);
    auto fn = reinterpret_cast<SetFn>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (fn) fn(n);
    return fn != nullptr;
}

namespace {
// fp32 on CUDA is fp32: TF32 off for cuBLAS and cuDNN (PyTorch leaves cuDNN's on, so the patch
// embedding's convolution would round to 10 mantissa bits), unless DILUTE_TF32=1.
std::string cudaFp32(std::string device) {
    const char* tf32 = std::getenv("DILUTE_TF32");
    compat::setTf32(tf32 && std::string(tf32) == "1");
    return device;
}
}  // namespace

std::string resolveDevice(const std::string& spec) {
    if (spec.empty() || spec == "auto") return torch::cuda::is_available() ? cudaFp32("cuda") : "cpu";
    if (spec == "cpu") return spec;
    if (spec.rfind("cuda", 0) == 0) {
        if (!torch::cuda::is_available())
            throw Error("device '" + spec + "': CUDA is not available in this build or on this machine");
        if (spec.size() > 5) {
            const std::string n = spec.substr(5);
            if (spec[4] != ':' || n.empty() || n.size() > 4 || n.find_first_not_of("0123456789") != std::string::npos)
                throw Error("device '" + spec + "': expected cpu, cuda or cuda:N");
            const int idx = std::stoi(n);
            if (idx < 0 || idx >= static_cast<int>(torch::cuda::device_count()))
                throw Error("device '" + spec + "': no such CUDA device");
        }
        return cudaFp32(spec);
    }
    throw Error("device '" + spec + "': expected auto, cpu, cuda or cuda:N");
}

std::string utcNowIso() {
    const auto t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

}  // namespace dilute
