#pragma once
// CPU inference kernels for the places where LibTorch 1.13's eager operators leave the most time
// on the table in a ViT forward (measured, issue 16). block(): a whole pre-norm block in one
// parallel region (the model's inference path). attention() and linear(): the per-operator
// pieces, used where a block cannot run whole (DILUTE_CPU_KERNELS=ops, one thread): q k^T,
// softmax and (.) v per (image, head) straight out of the fused qkv Linear's output, the
// 1/sqrt(d) scale folded into the first product, the result written in place into the [B, N, C]
// layout the projection reads; no permute copies, no scale pass, no [B, H, N, N] tensor; every
// product on one BLAS thread, softmax with glibc's vector exp (libmvec; 16 or 8 lanes). DeiT-S,
// batch 32, one block's attention: 15 ms against 33-52 ms for ATen's path. All agree with the
// ATen path to about 1e-6 relative (tests/core/model/test_kernels.cpp). Used for CPU float32 inference
// only (no gradient); everything else (training, CUDA, half precision, a build without libmvec,
// a BLAS without a visible sgemm_) takes the ATen path. DILUTE_CPU_KERNELS=0 in the environment,
// or setEnabled(false), turns them off (to measure them, or to rule them out).
#include <torch/types.h>

namespace dilute::model::kernels {

/// Whether this build and machine have the kernel at all (x86-64, AVX2 + FMA, libmvec, sgemm_).
bool available();
/// On unless DILUTE_CPU_KERNELS=0 or setEnabled(false); never on when !available().
bool enabled();
void setEnabled(bool on);

/// Token rows (batch x tokens) from which linear() applies.
constexpr int64_t kSmallBatchRows = 1024;

/// Holds OpenBLAS at one thread while it lives (the kernels run one BLAS thread per core of their
/// own). OpenBLAS's count is global: scopes on any thread share one count, the first in sets 1
/// and the last out restores what it was. No effect without OpenBLAS.
class SerialBlas {
public:
    SerialBlas();
    ~SerialBlas();
    SerialBlas(const SerialBlas&) = delete;
    SerialBlas& operator=(const SerialBlas&) = delete;
};

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

/// One pre-norm block's parameters, as block() reads them:
///   y = keep x + mix proj(attention(qkv(LN1(x))))   (the attention part only when qkv_w is defined)
///   out = y + fc2(GELU(fc1(LN2(y))))
/// keep = mix = 1 is the full block; keep = 2 - lambda, mix = lambda a diluted one; a block
/// without attention (removed, fully diluted, skipped) has keep = its residual scale.
struct BlockWeights {
    torch::Tensor norm1_w, norm1_b, qkv_w, qkv_b, proj_w, proj_b;  // undefined: no attention
    torch::Tensor norm2_w, norm2_b, fc1_w, fc1_b, fc2_w, fc2_b;
    double eps1 = 1e-6, eps2 = 1e-6;
    int heads = 1;
    double keep = 1.0, mix = 1.0;
};
/// block()'s branch outputs (the analysis taps).
struct BlockTaps {
    torch::Tensor attn;        // [B, N, C] the attention branch after proj (undefined without attention)
    torch::Tensor attn_heads;  // [B, N, C] the attention before proj, head-major channels
    torch::Tensor mlp;         // [B, N, C] the MLP branch
};
/// Whether block(x, w) takes the fast path: x [B, N, C] contiguous CPU float32, every weight
/// CPU float32 contiguous and of matching shape, no gradient needed, more than one thread, and
/// not DILUTE_CPU_KERNELS=ops (the per-operator kernels alone, to measure this one). Callers
/// run the block's modules otherwise.
bool blockApplies(const torch::Tensor& x, const BlockWeights& w);
/// The whole block in one parallel region, every product on one BLAS thread per core:
/// - when the images share out evenly over the threads (B a multiple of the thread count, or at
///   least 4 per thread), each thread runs the whole block on its own images, in groups of about
///   512 token rows whose activations stay in its cache, with no synchronisation at all;
/// - otherwise (batch 1, 3, ...) every step is split over all threads (products by output
///   columns, or rows for narrow outputs; attention by heads, or query-row bands; LayerNorm by
///   rows), the threads meeting at spinning barriers between steps.
/// LayerNorm, softmax and GELU (libmvec's erf) are computed in place while in cache. The
/// per-operator path leaves the cores waiting at small batches: each operator wakes sleeping
/// OpenMP workers, and OpenBLAS's own workers spin between its products on the cores the next
/// operator needs (measured, DeiT-S batch 1: 0.82 ms per block's attention in the model vs 0.49
/// ms alone; 150 GFLOP/s for its Linears vs 185 split over two spinning threads).
/// With `taps`, the block's branch outputs come back too, as the modules' forward taps them;
/// the output is the same (bit for bit) with and without taps.
torch::Tensor block(const torch::Tensor& x, const BlockWeights& w, BlockTaps* taps = nullptr);
/// How many times block() has run in this process (tests and benchmarks check the path is taken).
uint64_t blockRuns();

}  // namespace dilute::model::kernels
