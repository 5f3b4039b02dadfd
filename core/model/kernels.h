#pragma once
// A CPU attention kernel for the place where LibTorch 1.13's eager operators leave the most time
// on the table in a ViT forward (measured, issue 16): q k^T, softmax and (.) v per (image, head)
// straight out of the fused qkv Linear's output, the 1/sqrt(d) scale folded into the first
// product, the result written in place into the [B, N, C] layout the projection reads. No
// permute copies, no scale pass, no [B, H, N, N] tensor; the (image, head) pairs run in parallel
// on LibTorch's OpenMP threads, each product on one BLAS thread, softmax with glibc's vector exp
// (libmvec; 16 or 8 lanes). DeiT-S, batch 32, one block: 15 ms against 33-52 ms for ATen's path.
// Agrees with the ATen path to about 1e-6 relative (tests/core/test_kernels.cpp). Used for CPU
// float32 inference only (no gradient); everything else (training, CUDA, half precision, a build
// without libmvec, a BLAS without a visible sgemm_) takes the ATen path. DILUTE_CPU_KERNELS=0 in
// the environment, or setEnabled(false), turns it off (to measure it, or to rule it out).
#include <torch/types.h>

namespace dilute::model::kernels {

/// Whether this build and machine have the kernel at all (x86-64, AVX2 + FMA, libmvec, sgemm_).
bool available();
/// On unless DILUTE_CPU_KERNELS=0 or setEnabled(false); never on when !available().
bool enabled();
void setEnabled(bool on);

/// Whether attention(qkv, heads) takes the fast path for this tensor (CPU, float32, contiguous,
/// no gradient needed, enabled); callers keep the ATen path otherwise.
bool attentionApplies(const torch::Tensor& qkv);
/// softmax(q k^T / sqrt(d)) v for every head. qkv: [B, N, 3C], contiguous, as the qkv Linear gives
/// it (channel = which * C + head * d + j). Returns [B, N, C] with channel = head * d + j.
torch::Tensor attention(const torch::Tensor& qkv, int heads);

/// Whether linear(x, weight, bias) takes the fast path: CPU float32 contiguous, no gradient, at
/// least 1,024 rows (the batch's tokens). Callers keep the Linear module's forward otherwise.
bool linearApplies(const torch::Tensor& x, const torch::Tensor& weight);
/// x W^T + b, as torch::nn::Linear, with the rows split into equal chunks run side by side, one
/// BLAS thread each: OpenBLAS's own threading splits the few output columns of a small model
/// badly (vit_micro's qkv, 4,352 x 96 -> 288: 75 GFLOP/s threaded vs 185 split by rows).
/// With `gelu`, GELU(x W^T + b) (exact, ATen's kernel) applied to each chunk right after its product.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, bool gelu = false);

}  // namespace dilute::model::kernels
