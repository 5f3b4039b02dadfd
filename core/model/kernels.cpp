#include "model/kernels.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <dlfcn.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "model/kernel_support.h"

namespace dilute::model::kernels {
namespace detail {

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
            _mm256_storeu_ps(q + j,
                             _mm256_mul_ps(_mm256_mul_ps(x, half), _mm256_add_ps(one, erf(_mm256_mul_ps(x, rs2)))));
        }
        for (; j < n; ++j) q[j] = 0.5f * q[j] * (1.0f + std::erf(q[j] * 0.70710678118654752f));
    }
}

// Row-major C[M, N] = alpha A[M, K] op(B) + beta C, op(B) = B^T when B is stored [N, K], else
// B [K, N], as the column-major sgemm_ sees it: C^T = op(B)^T A^T.
void gemmRowMajor(bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                  float* C, int ldc, float beta) {
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
// Rows per product in linear(): enough to keep OpenBLAS's kernel busy, few enough that every
// thread gets an equal share of chunks.
constexpr int64_t kLinearChunkRows = 512;
#endif

std::mutex gSerialMu;
int gSerialActive = 0, gSerialSaved = 1;
}  // namespace detail

using namespace detail;

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
    TORCH_CHECK(attentionApplies(qkv),
                "kernels::attention: needs a contiguous CPU float32 [B, N, 3C] tensor without grad");
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
    if (!cpuFloat(x) || x.dim() < 2 || !cpuFloat(weight) || weight.dim() != 2 || weight.size(1) != x.size(-1))
        return false;
    if (torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad())) return false;
    return x.numel() / x.size(-1) >= kSmallBatchRows;
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, bool gelu) {
    TORCH_CHECK(linearApplies(x, weight),
                "kernels::linear: needs contiguous CPU float32 x [..., K] and weight [N, K] without grad");
    const int64_t K = x.size(-1), N = weight.size(0), M = x.numel() / K;
    const bool hasBias = bias.defined();
    TORCH_CHECK(!hasBias || (cpuFloat(bias) && bias.numel() == N), "kernels::linear: bias must be a CPU float32 [", N,
                "]");
    auto sizes = x.sizes().vec();
    sizes.back() = N;
    auto y = torch::empty(sizes, x.options());
#if DILUTE_KERNELS
    const float* X = x.data_ptr<float>();
    const float* W = weight.data_ptr<float>();
    const float* Bv = hasBias ? bias.data_ptr<float>() : nullptr;
    float* Y = y.data_ptr<float>();
    const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
    const int64_t chunks =
        threads * std::max<int64_t>(1, (M + threads * kLinearChunkRows - 1) / (threads * kLinearChunkRows));
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

}  // namespace dilute::model::kernels
