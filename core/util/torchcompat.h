#pragma once
// Every LibTorch call whose spelling depends on the LibTorch version or on a CUDA build, in one
// place: what compiles only against 2.x is the few lines under TORCH_VERSION_MAJOR >= 2 in
// torchcompat.cpp, each checked against PyTorch's own declarations (named there). Debian's 1.13
// (CPU) compiles the other branch; a CUDA build of 2.x compiles these. The c10d calls of
// dist/group.cpp (TCPStoreOptions, ProcessGroup{Gloo,NCCL}::Options) are spelled alike in 1.13
// and 2.x and stay there.
#include <torch/types.h>

#include <cstdint>

namespace dilute::compat {

/// at::scaled_dot_product_attention exists (LibTorch >= 2.0).
bool hasFusedAttention();
/// softmax(q k^T / sqrt(d)) v by at::scaled_dot_product_attention; throws on LibTorch < 2.0.
torch::Tensor fusedAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

/// Turns CUDA autocast on (to `dtype`) or off for this thread; off also clears its cast cache.
void setCudaAutocast(torch::Dtype dtype, bool on);

/// TF32 for fp32 matmuls (cuBLAS) and convolutions (cuDNN). PyTorch's defaults are off and on.
void setTf32(bool allowed);
bool tf32CuBlas();
bool tf32CuDnn();

/// Bytes the CUDA caching allocator has handed out on a device: now, and the peak since the
/// last resetCudaPeak. False (and zeros) when this build has no CUDA.
struct CudaMemory {
    int64_t current = 0, peak = 0;
};
bool cudaMemory(int device, CudaMemory& out);
void resetCudaPeak(int device);

/// Makes `device` this process's current CUDA device (what torch.cuda.set_device does): a rank's
/// pinned buffers, library handles and NCCL communicator then live on its own GPU, not GPU 0.
/// False when this build has no CUDA.
bool setCudaDevice(int device);

}  // namespace dilute::compat
