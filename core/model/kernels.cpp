#include "model/kernels.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <dlfcn.h>
#include <sched.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

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

namespace dilute::model::kernels {
namespace {

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

const Runtime& runtime() {
    static const Runtime rt = [] {
        Runtime r;
#if DILUTE_KERNELS
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f"))
            r.lanes = 16;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            r.lanes = 8;
        r.sgemm = reinterpret_cast<SgemmFn>(::dlsym(RTLD_DEFAULT, "sgemm_"));
        r.blasGet = reinterpret_cast<ThreadsGet>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
        r.blasSet = reinterpret_cast<ThreadsSet>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
        r.erf16 = reinterpret_cast<Erf16>(::dlsym(RTLD_DEFAULT, "_ZGVeN16v_erff"));
        r.erf8 = reinterpret_cast<Erf8>(::dlsym(RTLD_DEFAULT, "_ZGVdN8v_erff"));
#endif
        return r;
    }();
    return rt;
}

std::atomic<bool>& enabledFlag() {
    static std::atomic<bool> on{[] {
        const char* e = std::getenv("DILUTE_CPU_KERNELS");
        return !(e && (std::string(e) == "0" || std::string(e) == "off"));
    }()};
    return on;
}

// DILUTE_CPU_KERNELS=ops: the per-operator kernels only, without block() (to measure it).
bool wholeBlocks() {
    static const bool on = [] {
        const char* e = std::getenv("DILUTE_CPU_KERNELS");
        return !(e && std::string(e) == "ops");
    }();
    return on;
}

bool cpuFloat(const torch::Tensor& t) {
    return enabled() && t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.is_contiguous() &&
           t.layout() == torch::kStrided;
}

#if DILUTE_KERNELS
// GCC 12 reports the undefined vector inside its own AVX-512 reduction intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// One softmax row in place: p = exp(p - max p) / sum.
__attribute__((target("avx512f"))) void softmaxRows16(float* s, int rows, int n) {
    for (int r = 0; r < rows; ++r) {
        float* p = s + static_cast<int64_t>(r) * n;
        __m512 mx = _mm512_set1_ps(-INFINITY);
        for (int j = 0; j < n; j += 16) {
            const __mmask16 m = n - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - j)) - 1);
            mx = _mm512_mask_max_ps(mx, m, mx, _mm512_maskz_loadu_ps(m, p + j));
        }
        const __m512 vm = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
        __m512 acc = _mm512_setzero_ps();
        for (int j = 0; j < n; j += 16) {
            const __mmask16 m = n - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - j)) - 1);
            const __m512 e = _mm512_maskz_mov_ps(m, _ZGVeN16v_expf(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, p + j), vm)));
            _mm512_mask_storeu_ps(p + j, m, e);
            acc = _mm512_add_ps(acc, e);
        }
        const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(acc));
        for (int j = 0; j < n; j += 16) {
            const __mmask16 m = n - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - j)) - 1);
            _mm512_mask_storeu_ps(p + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + j), inv));
        }
    }
}

__attribute__((target("avx2,fma"))) float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) void softmaxRows8(float* s, int rows, int n) {
    for (int r = 0; r < rows; ++r) {
        float* p = s + static_cast<int64_t>(r) * n;
        float mx = -INFINITY;
        for (int j = 0; j < n; ++j) mx = p[j] > mx ? p[j] : mx;
        const __m256 vm = _mm256_set1_ps(mx);
        __m256 acc = _mm256_setzero_ps();
        int j = 0;
        for (; j + 8 <= n; j += 8) {
            const __m256 e = _ZGVdN8v_expf(_mm256_sub_ps(_mm256_loadu_ps(p + j), vm));
            _mm256_storeu_ps(p + j, e);
            acc = _mm256_add_ps(acc, e);
        }
        float sum = hsum8(acc);
        for (; j < n; ++j) sum += (p[j] = std::exp(p[j] - mx));
        const float inv = 1.0f / sum;
        for (j = 0; j < n; ++j) p[j] *= inv;
    }
}

// Exact GELU, x (1 + erf(x / sqrt 2)) / 2, in place on `rows` rows of `n` floats `ld` apart, with
// glibc's vector erff. Used inside block()'s parallel region, where ATen's kernel on a thread's
// band ran at 3.8 ns per value (DeiT-S batch 1: 0.58 ms of a 4.9 ms block).
__attribute__((target("avx512f"))) void geluRows16(Erf16 erf, float* p, int64_t rows, int64_t n, int64_t ld) {
    const __m512 half = _mm512_set1_ps(0.5f), rs2 = _mm512_set1_ps(0.70710678118654752f), one = _mm512_set1_ps(1.0f);
    for (int64_t r = 0; r < rows; ++r) {
        float* q = p + r * ld;
        for (int64_t j = 0; j < n; j += 16) {
            const __mmask16 m = n - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - j)) - 1);
            const __m512 x = _mm512_maskz_loadu_ps(m, q + j);
            const __m512 e = erf(_mm512_mul_ps(x, rs2));
            _mm512_mask_storeu_ps(q + j, m, _mm512_mul_ps(_mm512_mul_ps(x, half), _mm512_add_ps(one, e)));
        }
    }
}

__attribute__((target("avx2,fma"))) void geluRows8(Erf8 erf, float* p, int64_t rows, int64_t n, int64_t ld) {
    const __m256 half = _mm256_set1_ps(0.5f), rs2 = _mm256_set1_ps(0.70710678118654752f), one = _mm256_set1_ps(1.0f);
    for (int64_t r = 0; r < rows; ++r) {
        float* q = p + r * ld;
        int64_t j = 0;
        for (; j + 8 <= n; j += 8) {
            const __m256 x = _mm256_loadu_ps(q + j);
            _mm256_storeu_ps(q + j, _mm256_mul_ps(_mm256_mul_ps(x, half), _mm256_add_ps(one, erf(_mm256_mul_ps(x, rs2)))));
        }
        for (; j < n; ++j) q[j] = 0.5f * q[j] * (1.0f + std::erf(q[j] * 0.70710678118654752f));
    }
}

// Row-major C[M, N] = alpha A[M, K] op(B) + beta C, op(B) = B^T when B is stored [N, K], else
// B [K, N], as the column-major sgemm_ sees it: C^T = op(B)^T A^T.
void gemmRowMajor(bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                  float* C, int ldc, float beta = 0.0f) {
    const char ta = transB ? 'T' : 'N', tb = 'N';
    runtime().sgemm(&ta, &tb, &N, &M, &K, &alpha, B, &ldb, A, &lda, &beta, C, &ldc);
}

// Query rows [r0, r1) of one head of one image: softmax(q k^T / sqrt(d)) v, from the qkv
// Linear's output `qkv` ([N, 3C], channel = which * C + head * d + j) into `out` ([N, C]).
// `s` holds (r1 - r0) x N scores.
void attendRows(const float* qkv, int64_t N, int64_t C, int64_t hd, int64_t h, int64_t r0, int64_t r1, float* s,
                float* out) {
    const int rows = static_cast<int>(r1 - r0), n = static_cast<int>(N), d = static_cast<int>(hd);
    const int ldq = static_cast<int>(3 * C), ldo = static_cast<int>(C);
    if (rows <= 0) return;
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
    const float* q = qkv + r0 * 3 * C + h * hd;
    const float* k = qkv + C + h * hd;
    gemmRowMajor(true, rows, n, d, scale, q, ldq, k, ldq, s, n);  // scale q k^T
    if (runtime().lanes == 16)
        softmaxRows16(s, rows, n);
    else
        softmaxRows8(s, rows, n);
    gemmRowMajor(false, rows, d, n, 1.0f, s, n, k + C, ldq, out + r0 * C + h * hd, ldo);
}
#endif

#if DILUTE_KERNELS
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
Part productPart(int t, int T, int64_t M, int64_t N) {
    if (N / T >= 64) {
        auto edge = [&](int i) { return i == T ? N : (N * i / T) & ~int64_t(15); };  // 16-float aligned bands
        return {0, M, edge(t), edge(t + 1)};
    }
    return {M * t / T, M * (t + 1) / T, 0, N};
}

// out[part] = (in W^T + b)[part]; in [M, K], W [N, K], out [M, N] (row stride N).
void linearPart(const Part& p, const float* in, int64_t K, const float* W, const float* b, int64_t N, float* out) {
    const int64_t m = p.r1 - p.r0, n = p.c1 - p.c0;
    if (m <= 0 || n <= 0) return;
    for (int64_t r = p.r0; r < p.r1; ++r) {
        float* o = out + r * N + p.c0;
        for (int64_t c = 0; c < n; ++c) o[c] = b ? b[p.c0 + c] : 0.0f;
    }
    gemmRowMajor(true, static_cast<int>(m), static_cast<int>(n), static_cast<int>(K), 1.0f, in + p.r0 * K,
                 static_cast<int>(K), W + p.c0 * K, static_cast<int>(K), out + p.r0 * N + p.c0, static_cast<int>(N), 1.0f);
}

// LayerNorm over the last dimension for rows [r0, r1) of x [., C] (two passes, float).
void layerNormRows(const float* x, float* y, int64_t r0, int64_t r1, int64_t C, const float* g, const float* b,
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
#endif

#if DILUTE_KERNELS
// Rows per product in linear(): enough to keep OpenBLAS's kernel busy, few enough that every
// thread gets an equal share of chunks.
constexpr int64_t kLinearChunkRows = 512;
#endif

std::mutex gSerialMu;
int gSerialActive = 0, gSerialSaved = 1;
}  // namespace

// The (image, head) products are small (197 x 197 x 64 for DeiT): run them side by side, each on
// one BLAS thread. A threaded OpenBLAS would split every small product over all cores from each
// of our threads at once (measured: DeiT-S batch 32, one block's attention 46.9 ms that way, 15.7
// ms single-threaded, 39.1 ms with ATen's bmm). OpenBLAS's count is global: the first scope in
// sets it to 1 and the last one out restores it.
SerialBlas::SerialBlas() {
    const auto& rt = runtime();
    if (!rt.blasGet || !rt.blasSet) return;
    std::lock_guard<std::mutex> lock(gSerialMu);
    if (gSerialActive++ == 0) {
        gSerialSaved = rt.blasGet();
        if (gSerialSaved > 1) rt.blasSet(1);
    }
}

SerialBlas::~SerialBlas() {
    const auto& rt = runtime();
    if (!rt.blasGet || !rt.blasSet) return;
    std::lock_guard<std::mutex> lock(gSerialMu);
    if (--gSerialActive == 0 && gSerialSaved > 1) rt.blasSet(gSerialSaved);
}

bool available() {
    const auto& rt = runtime();
    return rt.lanes > 0 && rt.sgemm != nullptr;
}

bool enabled() { return available() && enabledFlag().load(std::memory_order_relaxed); }
void setEnabled(bool on) { enabledFlag() = on; }

bool attentionApplies(const torch::Tensor& qkv) {
    return cpuFloat(qkv) && qkv.dim() == 3 && !(torch::GradMode::is_enabled() && qkv.requires_grad());
}

torch::Tensor attention(const torch::Tensor& qkv, int heads) {
    TORCH_CHECK(attentionApplies(qkv), "kernels::attention: needs a contiguous CPU float32 [B, N, 3C] tensor without grad");
    const int64_t B = qkv.size(0), N = qkv.size(1), C3 = qkv.size(2);
    TORCH_CHECK(heads > 0 && C3 % (3 * heads) == 0, "kernels::attention: ", C3, " channels do not split into 3 x ",
                heads, " heads");
    const int64_t C = C3 / 3, hd = C / heads;
    auto out = torch::empty({B, N, C}, qkv.options());
#if DILUTE_KERNELS
    const float* base = qkv.data_ptr<float>();
    float* ob = out.data_ptr<float>();
    SerialBlas serial;
    at::parallel_for(0, B * heads, 1, [&](int64_t first, int64_t last) {
        std::vector<float> s(static_cast<size_t>(N * N));
        for (int64_t t = first; t < last; ++t) {
            const int64_t b = t / heads, h = t % heads;
            attendRows(base + b * N * C3, N, C, hd, h, 0, N, s.data(), ob + b * N * C);
        }
    });
#endif
    return out;
}

bool linearApplies(const torch::Tensor& x, const torch::Tensor& weight) {
    if (!cpuFloat(x) || x.dim() < 2 || !cpuFloat(weight) || weight.dim() != 2 || weight.size(1) != x.size(-1)) return false;
    if (torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad())) return false;
    return x.numel() / x.size(-1) >= kSmallBatchRows;
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, bool gelu) {
    TORCH_CHECK(linearApplies(x, weight), "kernels::linear: needs contiguous CPU float32 x [..., K] and weight [N, K] without grad");
    const int64_t K = x.size(-1), N = weight.size(0), M = x.numel() / K;
    const bool hasBias = bias.defined();
    TORCH_CHECK(!hasBias || (cpuFloat(bias) && bias.numel() == N), "kernels::linear: bias must be a CPU float32 [", N, "]");
    auto sizes = x.sizes().vec();
    sizes.back() = N;
    auto y = torch::empty(sizes, x.options());
#if DILUTE_KERNELS
    const float* X = x.data_ptr<float>();
    const float* W = weight.data_ptr<float>();
    const float* Bv = hasBias ? bias.data_ptr<float>() : nullptr;
    float* Y = y.data_ptr<float>();
    const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
    const int64_t chunks = threads * std::max<int64_t>(1, (M + threads * kLinearChunkRows - 1) / (threads * kLinearChunkRows));
    const int n = static_cast<int>(N), k = static_cast<int>(K);
    SerialBlas serial;
    at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            const int64_t r0 = M * c / chunks, r1 = M * (c + 1) / chunks;
            const int m = static_cast<int>(r1 - r0);
            if (m == 0) continue;
            float* Yc = Y + r0 * N;
            if (Bv)
                for (int64_t r = 0; r < m; ++r) std::memcpy(Yc + r * N, Bv, sizeof(float) * N);
            gemmRowMajor(true, m, n, k, 1.0f, X + r0 * K, k, W, k, Yc, n, Bv ? 1.0f : 0.0f);  // Xc W^T (+ b)
            if (gelu) {  // while the chunk is still in cache (ATen's kernel, run inline on this thread)
                auto chunk = torch::from_blob(Yc, {m, n}, y.options());
                at::gelu_(chunk);
            }
        }
    });
#endif
    return y;
}

namespace {
bool cpuFloatOrNone(const torch::Tensor& t, int64_t n) { return !t.defined() || (cpuFloat(t) && t.numel() == n); }
bool needsGrad(const torch::Tensor& t) { return t.defined() && t.requires_grad(); }

std::atomic<uint64_t> gBlockRuns{0};
}  // namespace

uint64_t blockRuns() { return gBlockRuns.load(std::memory_order_relaxed); }

bool blockApplies(const torch::Tensor& x, const BlockWeights& w) {
    if (!wholeBlocks() || !cpuFloat(x) || x.dim() != 3 || x.numel() == 0) return false;
    const int64_t C = x.size(2);
    if (at::get_num_threads() < 2) return false;
    const bool attends = w.qkv_w.defined();
    const torch::Tensor* all[] = {&w.norm1_w, &w.norm1_b, &w.qkv_w, &w.qkv_b, &w.proj_w, &w.proj_b,
                                  &w.norm2_w, &w.norm2_b, &w.fc1_w, &w.fc1_b, &w.fc2_w, &w.fc2_b};
    if (torch::GradMode::is_enabled()) {
        if (x.requires_grad()) return false;
        for (const auto* t : all)
            if (needsGrad(*t)) return false;
    }
    if (!cpuFloat(w.norm2_w) || w.norm2_w.numel() != C || !cpuFloat(w.norm2_b) || w.norm2_b.numel() != C) return false;
    if (!cpuFloat(w.fc1_w) || w.fc1_w.dim() != 2 || w.fc1_w.size(1) != C) return false;
    const int64_t H = w.fc1_w.size(0);
    if (!cpuFloatOrNone(w.fc1_b, H) || !cpuFloat(w.fc2_w) || w.fc2_w.dim() != 2 || w.fc2_w.size(0) != C ||
        w.fc2_w.size(1) != H || !cpuFloatOrNone(w.fc2_b, C))
        return false;
    if (!attends) return true;
    return w.heads > 0 && C % w.heads == 0 && cpuFloat(w.norm1_w) && w.norm1_w.numel() == C && cpuFloat(w.norm1_b) &&
           w.norm1_b.numel() == C && cpuFloat(w.qkv_w) && w.qkv_w.dim() == 2 && w.qkv_w.size(0) == 3 * C &&
           w.qkv_w.size(1) == C && cpuFloatOrNone(w.qkv_b, 3 * C) && cpuFloat(w.proj_w) && w.proj_w.dim() == 2 &&
           w.proj_w.size(0) == C && w.proj_w.size(1) == C && cpuFloatOrNone(w.proj_b, C);
}

#if DILUTE_KERNELS
namespace {
// A block's tensors as raw pointers (nullptr: absent).
struct BlockData {
    const float *ln1w, *ln1b, *qkvw, *qkvb, *projw, *projb, *ln2w, *ln2b, *fc1w, *fc1b, *fc2w, *fc2b;
    float eps1, eps2, keep, mix;
    int64_t B, N, C, H, heads, hd;
    bool attends, scaled;
};

BlockData blockData(const torch::Tensor& x, const BlockWeights& w) {
    auto p = [](const torch::Tensor& t) { return t.defined() ? t.data_ptr<float>() : static_cast<const float*>(nullptr); };
    BlockData d{p(w.norm1_w), p(w.norm1_b), p(w.qkv_w), p(w.qkv_b), p(w.proj_w), p(w.proj_b), p(w.norm2_w), p(w.norm2_b),
                p(w.fc1_w), p(w.fc1_b), p(w.fc2_w), p(w.fc2_b), static_cast<float>(w.eps1), static_cast<float>(w.eps2),
                static_cast<float>(w.keep), static_cast<float>(w.mix), x.size(0), x.size(1), x.size(2), w.fc1_w.size(0),
                w.heads, 0, w.qkv_w.defined(), w.keep != 1.0};
    d.hd = d.attends ? d.C / d.heads : 0;
    return d;
}

// GELU in place on `rows` rows of `n` floats `ld` apart: libmvec's erff where this glibc has it,
// else ATen's kernel (run inline on this thread inside a parallel region).
void geluBand(float* p, int64_t rows, int64_t n, int64_t ld) {
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
void combinePart(const Part& p, int64_t C, const float* x, const float* a, float keep, float mix, float* y) {
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

// Small batches (fewer images than the threads can share evenly): every step split over all
// threads (products by output columns, or rows for narrow outputs; attention by heads or
// query-row bands; LayerNorm by rows), the threads meeting at a spinning barrier between steps.
void blockSplit(const BlockData& d, const float* X, float* Out, const BranchOut& br, int T) {
    const int64_t B = d.B, N = d.N, C = d.C, H = d.H, M = B * N, heads = d.heads;
    const auto opts = torch::TensorOptions().dtype(torch::kFloat);
    // y: the residual stream after the attention step (x itself when nothing changes it).
    auto y = d.attends || d.scaled ? torch::empty({M, C}, opts) : torch::Tensor();
    float* Yw = y.defined() ? y.data_ptr<float>() : nullptr;
    const float* Y = Yw ? Yw : X;
    auto h = torch::empty({M, C}, opts);  // LN1(x), later LN2(y)
    auto f = torch::empty({d.attends ? M : 0, 3 * C}, opts);
    auto u = torch::empty({M, H}, opts);
    float *Hb = h.data_ptr<float>(), *F = f.data_ptr<float>(), *U = u.data_ptr<float>();
    // (image, head, query-row band) attention tasks: whole heads when they share out evenly.
    const int64_t pairs = B * heads, bands = pairs % T == 0 || pairs >= 4 * T ? 1 : T;
    const int64_t bandRows = (N + bands - 1) / bands;
    auto scores = torch::empty({d.attends ? T : 0, bandRows * N}, opts);  // one score block per thread
    SpinBarrier bar;
    parallelRegion(T, [&](int t, int nt) {
        bar.setThreads(nt);
        const int64_t r0 = M * t / nt, r1 = M * (t + 1) / nt;  // this thread's rows for the row-wise steps
        if (d.attends) {
            layerNormRows(X, Hb, r0, r1, C, d.ln1w, d.ln1b, d.eps1);
            bar.wait();
            linearPart(productPart(t, nt, M, 3 * C), Hb, C, d.qkvw, d.qkvb, 3 * C, F);
            bar.wait();
            const int64_t tasks = pairs * bands, t0 = tasks * t / nt, t1 = tasks * (t + 1) / nt;
            float* s = scores.data_ptr<float>() + t * bandRows * N;
            for (int64_t k = t0; k < t1; ++k) {
                const int64_t band = k % bands, pair = k / bands, b = pair / heads, hh = pair % heads;
                attendRows(F + b * N * 3 * C, N, C, d.hd, hh, N * band / bands, N * (band + 1) / bands, s,
                           br.heads + b * N * C);
            }
            bar.wait();
            const Part pp = productPart(t, nt, M, C);
            linearPart(pp, br.heads, C, d.projw, d.projb, C, br.attn);
            combinePart(pp, C, X, br.attn, d.keep, d.mix, Yw);
            bar.wait();
        } else if (d.scaled) {
            for (int64_t i = r0 * C; i < r1 * C; ++i) Yw[i] = d.keep * X[i];
            bar.wait();
        }
        layerNormRows(Y, Hb, r0, r1, C, d.ln2w, d.ln2b, d.eps2);
        bar.wait();
        const Part p1 = productPart(t, nt, M, H);
        linearPart(p1, Hb, C, d.fc1w, d.fc1b, H, U);
        try {
            geluBand(U + p1.r0 * H + p1.c0, p1.r1 - p1.r0, p1.c1 - p1.c0, H);
        } catch (...) {
            bar.wait();  // the others must not wait for this thread forever
            throw;
        }
        bar.wait();
        const Part p2 = productPart(t, nt, M, C);
        linearPart(p2, U, H, d.fc2w, d.fc2b, C, br.mlp);
        combinePart(p2, C, Y, br.mlp, 1.0f, 1.0f, Out);
    });
}

// Larger batches: each thread takes its share of the images and runs the whole block on groups
// of them (about 512 token rows, so a group's activations stay in the core's cache), one BLAS
// thread each, no barrier at all. `tapped`: the branch outputs go to br (whole-batch tensors),
// else to the thread's scratch.
void blockGroups(const BlockData& d, const float* X, float* Out, const BranchOut& br, bool tapped, int T) {
    const int64_t B = d.B, N = d.N, C = d.C, H = d.H;
    const int64_t g = std::max<int64_t>(1, std::min<int64_t>(512 / N, (B + T - 1) / T));  // images per group
    const int64_t R = g * N;
    const int64_t per = R * (C + H + C + (d.attends ? 5 * C : 0)) + (d.attends ? N * N : 0);
    auto work = torch::empty({T, per}, torch::TensorOptions().dtype(torch::kFloat));
    parallelRegion(T, [&](int t, int nt) {
        float* Hb = work.data_ptr<float>() + t * per;  // LN1, later LN2, of the group
        float* U = Hb + R * C;                         // fc1, GELU
        float* Mo = U + R * H;                         // fc2 (the MLP branch)
        float* F = Mo + R * C;                         // qkv
        float* O = F + (d.attends ? R * 3 * C : 0);    // attention before proj
        float* A = O + (d.attends ? R * C : 0);        // attention branch (after proj)
        float* S = A + (d.attends ? R * C : 0);        // one head's scores
        for (int64_t b0 = B * t / nt, end = B * (t + 1) / nt; b0 < end; b0 += g) {
            const int64_t rows = (std::min(end, b0 + g) - b0) * N, at = b0 * N * C;
            const float* Xg = X + at;
            float* Og = Out + at;  // y, then y + MLP(LN2(y))
            float* Mg = tapped ? br.mlp + at : Mo;
            const Part all{0, rows, 0, C};
            if (d.attends) {
                float* Hg = tapped ? br.heads + at : O;
                float* Ag = tapped ? br.attn + at : A;
                layerNormRows(Xg, Hb, 0, rows, C, d.ln1w, d.ln1b, d.eps1);
                linearPart({0, rows, 0, 3 * C}, Hb, C, d.qkvw, d.qkvb, 3 * C, F);
                for (int64_t i = 0; i < rows / N; ++i)
                    for (int64_t hh = 0; hh < d.heads; ++hh)
                        attendRows(F + i * N * 3 * C, N, C, d.hd, hh, 0, N, S, Hg + i * N * C);
                linearPart(all, Hg, C, d.projw, d.projb, C, Ag);
                combinePart(all, C, Xg, Ag, d.keep, d.mix, Og);
            } else {
                for (int64_t i = 0; i < rows * C; ++i) Og[i] = d.keep * Xg[i];
            }
            layerNormRows(Og, Hb, 0, rows, C, d.ln2w, d.ln2b, d.eps2);
            linearPart({0, rows, 0, H}, Hb, C, d.fc1w, d.fc1b, H, U);
            geluBand(U, rows, H, H);
            linearPart(all, U, H, d.fc2w, d.fc2b, C, Mg);
            combinePart(all, C, Og, Mg, 1.0f, 1.0f, Og);
        }
    });
}
}  // namespace
#endif

torch::Tensor block(const torch::Tensor& x, const BlockWeights& w, BlockTaps* taps) {
    TORCH_CHECK(blockApplies(x, w), "kernels::block: needs a contiguous CPU float32 [B, N, C] x, matching CPU float32 "
                "weights, no gradient and more than one thread");
    auto out = torch::empty_like(x);
#if DILUTE_KERNELS
    const auto d = blockData(x, w);
    const int T = std::max(1, at::get_num_threads());
    const bool groups = d.B % T == 0 || d.B >= 4 * T;
    // The branch outputs: the taps when asked for; else whole-batch scratch for the split steps
    // (the image groups keep theirs in each thread's scratch).
    torch::Tensor heads, attn, mlp;
    if (taps || !groups) {
        if (d.attends) {
            heads = torch::empty_like(x);
            attn = torch::empty_like(x);
        }
        mlp = torch::empty_like(x);
    }
    auto ptr = [](torch::Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; };
    const BranchOut br{ptr(heads), ptr(attn), ptr(mlp)};
    SerialBlas serial;
    if (groups)
        blockGroups(d, x.data_ptr<float>(), out.data_ptr<float>(), br, taps != nullptr, T);
    else
        blockSplit(d, x.data_ptr<float>(), out.data_ptr<float>(), br, T);
    if (taps) *taps = {attn, heads, mlp};
    gBlockRuns.fetch_add(1, std::memory_order_relaxed);
#endif
    return out;
}

}  // namespace dilute::model::kernels
