#pragma once
// Internals shared by the two files of the CPU inference kernels (model/kernels.h):
// kernels.cpp (run-time set-up, softmax, GELU, the attention rows, the per-operator kernels) and
// block_kernel.cpp (a whole block in one parallel region, its steps in block_parts.h). Only those
// two files include it: they alone are built with OpenMP and DILUTE_HAVE_LIBMVEC
// (core/CMakeLists.txt).
#include <torch/types.h>

#include <cstdint>

#if defined(DILUTE_HAVE_LIBMVEC) && defined(__x86_64__)
#define DILUTE_KERNELS 1
#include <immintrin.h>
#include <omp.h>
// glibc's vector math library (libmvec): the x86-64 vector ABI names.
// 'e' = AVX-512 (16 lanes), 'd' = AVX2 (8 lanes).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
extern "C" {
__attribute__((target("avx512f"))) __m512 _ZGVeN16v_expf(__m512);
__attribute__((target("avx2,fma"))) __m256 _ZGVdN8v_expf(__m256);
}
using Erf16 = __m512 (*)(__m512);  // _ZGVeN16v_erff / _ZGVdN8v_erff, found at run time (glibc >= 2.35)
using Erf8 = __m256 (*)(__m256);
#pragma GCC diagnostic pop
#else
#define DILUTE_KERNELS 0
#endif

namespace dilute::model::kernels::detail {

// The Fortran BLAS entry every BLAS has (LibTorch calls it too); found at run time so that a
// LibTorch without a visible BLAS (a static MKL build) simply keeps the ATen path.
using SgemmFn = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                         const int*, const float*, const int*, const float*, float*, const int*);
using ThreadsGet = int (*)();
using ThreadsSet = void (*)(int);

struct Runtime {
    SgemmFn sgemm = nullptr;
    ThreadsGet blasGet = nullptr;
    ThreadsSet blasSet = nullptr;
    int lanes = 0;  // 16 (AVX-512), 8 (AVX2 + FMA), 0: none
#if DILUTE_KERNELS
    Erf16 erf16 = nullptr;
    Erf8 erf8 = nullptr;
#endif
};

const Runtime& runtime();
/// DILUTE_CPU_KERNELS=ops: the per-operator kernels only, without block() (to measure it).
bool wholeBlocks();
/// A contiguous CPU float32 strided tensor, with the kernels enabled.
bool cpuFloat(const torch::Tensor& t);

#if DILUTE_KERNELS
/// Row-major C[M, N] = alpha A[M, K] op(B) + beta C, op(B) = B^T when B is stored [N, K], else
/// B [K, N] (one call of the BLAS's sgemm_).
void gemmRowMajor(bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                  float* C, int ldc, float beta = 0.0f);
/// Query rows [r0, r1) of head h of one image: softmax(q k^T / sqrt(hd)) v from the qkv Linear's
/// output ([N, 3C]) into `out` ([N, C]); `s` holds (r1 - r0) x N scores.
void attendRows(const float* qkv, int64_t N, int64_t C, int64_t hd, int64_t h, int64_t r0, int64_t r1, float* s,
                float* out);
/// Exact GELU in place on `rows` rows of `n` floats `ld` apart, with glibc's vector erff.
void geluRows16(Erf16 erf, float* p, int64_t rows, int64_t n, int64_t ld);
void geluRows8(Erf8 erf, float* p, int64_t rows, int64_t n, int64_t ld);
#endif

}  // namespace dilute::model::kernels::detail
