#include "util/torchcompat.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#if defined(DILUTE_WITH_CUDA) && __has_include(<c10/cuda/CUDACachingAllocator.h>) && \
    __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#define DILUTE_HAVE_CUDA_HEADERS 1
#endif

#include "util/error.h"

namespace dilute::compat {

#define DILUTE_TORCH_AT_LEAST(major, minor) \
    (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

bool hasFusedAttention() { return DILUTE_TORCH_AT_LEAST(2, 0); }

torch::Tensor fusedAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
#if DILUTE_TORCH_AT_LEAST(2, 0)
    // aten/src/ATen/native/native_functions.yaml (2.0 ... 2.9): scaled_dot_product_attention(
    // Tensor query, Tensor key, Tensor value, Tensor? attn_mask=None, float dropout_p=0.0,
    // bool is_causal=False, *, float? scale=None[, bool enable_gqa=False]): the defaults are ours.
    return at::scaled_dot_product_attention(q, k, v);
#else
    (void)q, (void)k, (void)v;
    throw Error("fused attention needs LibTorch >= 2.0 (this is " TORCH_VERSION ")");
#endif
}

void setCudaAutocast(torch::Dtype dtype, bool on) {
#if DILUTE_TORCH_AT_LEAST(2, 4)
    // aten/src/ATen/autocast_mode.h (2.4+): set_autocast_dtype(at::DeviceType, at::ScalarType),
    // set_autocast_enabled(at::DeviceType, bool); the CUDA-only spellings below are deprecated.
    if (on) at::autocast::set_autocast_dtype(at::kCUDA, dtype);
    at::autocast::set_autocast_enabled(at::kCUDA, on);
#else
    // 1.10 ... 2.3: set_autocast_gpu_dtype(at::ScalarType), set_enabled(bool).
    if (on) at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(on);
#endif
    if (!on) at::autocast::clear_cache();
}

// ATen/Context.h, 1.13 ... 2.9: setAllowTF32CuBLAS(bool), setAllowTF32CuDNN(bool) (2.9 adds
// setFloat32Precision and keeps these).
void setTf32(bool allowed) {
    at::globalContext().setAllowTF32CuBLAS(allowed);
    at::globalContext().setAllowTF32CuDNN(allowed);
}
bool tf32CuBlas() { return at::globalContext().allowTF32CuBLAS(); }
bool tf32CuDnn() { return at::globalContext().allowTF32CuDNN(); }

bool cudaMemory(int device, CudaMemory& out) {
    out = {};
#ifdef DILUTE_HAVE_CUDA_HEADERS
    // c10/cuda/CUDACachingAllocator.h: getDeviceStats(int | c10::DeviceIndex) -> DeviceStats,
    // allocated_bytes[StatType::AGGREGATE = 0] {current, peak} (1.13 ... 2.9).
    const auto st = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
    out.current = st.allocated_bytes[0].current;
    out.peak = st.allocated_bytes[0].peak;
    return true;
#else
    (void)device;
    return false;
#endif
}

void resetCudaPeak(int device) {
#ifdef DILUTE_HAVE_CUDA_HEADERS
    c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device));
#else
    (void)device;
#endif
}

bool setCudaDevice(int device) {
#ifdef DILUTE_HAVE_CUDA_HEADERS
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));  // c10/cuda/CUDAFunctions.h, 1.13 ... 2.9
    return true;
#else
    (void)device;
    return false;
#endif
}

}  // namespace dilute::compat
