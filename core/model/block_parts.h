#pragma once
// The building blocks of kernels::block (block_kernel.cpp): the spinning barrier, how a product
// is shared among threads, the banded linear / LayerNorm / GELU / residual steps and the one
// OpenMP region. Internal: included by block_kernel.cpp alone, which is built with OpenMP and
// DILUTE_HAVE_LIBMVEC (core/CMakeLists.txt); inline, so the steps compile into that file.
#include <torch/torch.h>

#include <sched.h>

#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>

#include "model/kernel_support.h"

#if DILUTE_KERNELS
namespace dilute::model::kernels::detail {

// The threads of block()'s one parallel region meet here between its steps. Every thread of the
// region is busy with the block, so the wait spins (a sleeping wait costs a futex wake-up per
// step, tens of microseconds on this kind of machine); after ~16k pauses it yields the core.
class SpinBarrier {
public:
    void setThreads(int n) { n_.store(n, std::memory_order_relaxed); }  // every thread stores the same n
    void wait() {
        const int g = gen_.load(std::memory_order_acquire);
        if (count_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_.load(std::memory_order_relaxed)) {
            count_.store(0, std::memory_order_relaxed);
            gen_.fetch_add(1, std::memory_order_release);
            return;
        }
        for (int spins = 0; gen_.load(std::memory_order_acquire) == g; ++spins) {
            if (spins < (1 << 14))
                _mm_pause();
            else
                sched_yield();
        }
    }

private:
    std::atomic<int> n_{1}, count_{0}, gen_{0};
};

// The part of an M x N product that thread t of T computes: a band of columns (output features)
// when each thread gets at least 64 of them, else a band of rows.
struct Part {
    int64_t r0, r1, c0, c1;
};
inline Part productPart(int t, int T, int64_t M, int64_t N) {
    if (N / T >= 64) {
        auto edge = [&](int i) { return i == T ? N : (N * i / T) & ~int64_t(15); };  // 16-float aligned bands
        return {0, M, edge(t), edge(t + 1)};
    }
    return {M * t / T, M * (t + 1) / T, 0, N};
}

// out[part] = (in W^T + b)[part]; in [M, K], W [N, K], out [M, N] (row stride N).
inline void linearPart(const Part& p, const float* in, int64_t K, const float* W, const float* b, int64_t N,
                       float* out) {
    const int64_t m = p.r1 - p.r0, n = p.c1 - p.c0;
    if (m <= 0 || n <= 0) return;
    for (int64_t r = p.r0; r < p.r1; ++r) {
        float* o = out + r * N + p.c0;
        for (int64_t c = 0; c < n; ++c) o[c] = b ? b[p.c0 + c] : 0.0f;
    }
    gemmRowMajor(true, static_cast<int>(m), static_cast<int>(n), static_cast<int>(K), 1.0f, in + p.r0 * K,
                 static_cast<int>(K), W + p.c0 * K, static_cast<int>(K), out + p.r0 * N + p.c0, static_cast<int>(N),
                 1.0f);
}

// LayerNorm over the last dimension for rows [r0, r1) of x [., C] (two passes, float).
inline void layerNormRows(const float* x, float* y, int64_t r0, int64_t r1, int64_t C, const float* g, const float* b,
                          float eps) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * C;
        float* yr = y + r * C;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int64_t c = 0; c < C; ++c) sum += xr[c];
        const float mean = sum / static_cast<float>(C);
        float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
        for (int64_t c = 0; c < C; ++c) sq += (xr[c] - mean) * (xr[c] - mean);
        const float rstd = 1.0f / std::sqrt(sq / static_cast<float>(C) + eps);
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mean) * rstd * g[c] + b[c];
    }
}

// GELU in place on `rows` rows of `n` floats `ld` apart: libmvec's erff where this glibc has it,
// else ATen's kernel (run inline on this thread inside a parallel region).
inline void geluBand(float* p, int64_t rows, int64_t n, int64_t ld) {
    if (rows <= 0 || n <= 0) return;
    const auto& rt = runtime();
    if (rt.lanes == 16 && rt.erf16)
        geluRows16(rt.erf16, p, rows, n, ld);
    else if (rt.lanes >= 8 && rt.erf8)
        geluRows8(rt.erf8, p, rows, n, ld);
    else {
        auto band = torch::from_blob(p, {rows, n}, {ld, 1}, torch::TensorOptions().dtype(torch::kFloat));
        at::gelu_(band);
    }
}

// Runs body(thread, threads) on every thread of one OpenMP region; the first exception any
// thread throws is rethrown after it (a thread that throws stops there, so body must not hold
// the others at a barrier after a step that can throw).
template <class Body>
void parallelRegion(int T, Body&& body) {
    std::mutex mu;
    std::exception_ptr err;
#pragma omp parallel num_threads(T)
    {
        try {
            body(omp_get_thread_num(), omp_get_num_threads());
        } catch (...) {
            std::lock_guard<std::mutex> lock(mu);
            if (!err) err = std::current_exception();
        }
    }
    if (err) std::rethrow_exception(err);
}

// y[rows r0..r1, columns c0..c1] = keep * x + mix * a (row stride C). The branch output `a` is
// computed on its own first, so that the taps and the residual stream are the same numbers
// whether or not the taps are asked for.
inline void combinePart(const Part& p, int64_t C, const float* x, const float* a, float keep, float mix, float* y) {
    for (int64_t r = p.r0; r < p.r1; ++r) {
        const float* xr = x + r * C;
        const float* ar = a + r * C;
        float* yr = y + r * C;
#pragma omp simd
        for (int64_t c = p.c0; c < p.c1; ++c) yr[c] = keep * xr[c] + mix * ar[c];
    }
}

// Where block() writes its branch outputs: the caller's tap tensors, else scratch.
struct BranchOut {
    float *heads, *attn, *mlp;  // [B*N, C] each (heads and attn: nullptr without attention)
};

}  // namespace dilute::model::kernels::detail
#endif
