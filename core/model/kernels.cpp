#include "model/kernels.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <dlfcn.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#if defined(DILUTE_HAVE_LIBMVEC) && defined(__x86_64__)
#define DILUTE_KERNELS 1
#include <immintrin.h>
// glibc's vector math library (libmvec): the x86-64 vector ABI names.
// 'e' = AVX-512 (16 lanes), 'd' = AVX2 (8 lanes).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
extern "C" {
__attribute__((target("avx512f"))) __m512 _ZGVeN16v_expf(__m512);
__attribute__((target("avx2,fma"))) __m256 _ZGVdN8v_expf(__m256);
}
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

// Row-major C[M, N] = alpha A[M, K] op(B) + beta C, op(B) = B^T when B is stored [N, K], else
// B [K, N], as the column-major sgemm_ sees it: C^T = op(B)^T A^T.
void gemmRowMajor(bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                  float* C, int ldc, float beta = 0.0f) {
    const char ta = transB ? 'T' : 'N', tb = 'N';
    runtime().sgemm(&ta, &tb, &N, &M, &K, &alpha, B, &ldb, A, &lda, &beta, C, &ldc);
}

// The (image, head) products are small (197 x 197 x 64 for DeiT): run them side by side, each on
// one BLAS thread. A threaded OpenBLAS would split every small product over all cores from each
// of our threads at once (measured: DeiT-S batch 32, one block's attention 46.9 ms that way, 15.7
// ms single-threaded, 39.1 ms with ATen's bmm). OpenBLAS's count is global: the first region in
// sets it to 1 and the last one out restores it.
class SerialBlas {
public:
    SerialBlas() {
        const auto& rt = runtime();
        if (!rt.blasGet || !rt.blasSet) return;
        std::lock_guard<std::mutex> lock(mu());
        if (active()++ == 0) {
            saved() = rt.blasGet();
            if (saved() > 1) rt.blasSet(1);
        }
    }
    ~SerialBlas() {
        const auto& rt = runtime();
        if (!rt.blasGet || !rt.blasSet) return;
        std::lock_guard<std::mutex> lock(mu());
        if (--active() == 0 && saved() > 1) rt.blasSet(saved());
    }
    SerialBlas(const SerialBlas&) = delete;
    SerialBlas& operator=(const SerialBlas&) = delete;

private:
    static std::mutex& mu() {
        static std::mutex m;
        return m;
    }
    static int& active() {
        static int n = 0;
        return n;
    }
    static int& saved() {
        static int n = 1;
        return n;
    }
};
#endif

#if DILUTE_KERNELS
// Rows per product in linear(): enough to keep OpenBLAS's kernel busy, few enough that every
// thread gets an equal share of chunks.
constexpr int64_t kLinearChunkRows = 512;
#endif
constexpr int64_t kLinearMinRows = 1024;  // below it (batch 1 of DeiT: 197 rows), ATen's addmm wins

}  // namespace

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
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
    const int n = static_cast<int>(N), d = static_cast<int>(hd), ldq = static_cast<int>(C3), ldo = static_cast<int>(C);
    const bool wide = runtime().lanes == 16;
    SerialBlas serial;
    at::parallel_for(0, B * heads, 1, [&](int64_t first, int64_t last) {
        std::vector<float> s(static_cast<size_t>(N * N));
        for (int64_t t = first; t < last; ++t) {
            const int64_t b = t / heads, h = t % heads;
            const float* q = base + b * N * C3 + h * hd;
            gemmRowMajor(true, n, n, d, scale, q, ldq, q + C, ldq, s.data(), n);  // scale q k^T
            if (wide)
                softmaxRows16(s.data(), n, n);
            else
                softmaxRows8(s.data(), n, n);
            gemmRowMajor(false, n, d, n, 1.0f, s.data(), n, q + 2 * C, ldq, ob + b * N * C + h * hd, ldo);
        }
    });
#endif
    return out;
}

bool linearApplies(const torch::Tensor& x, const torch::Tensor& weight) {
    if (!cpuFloat(x) || x.dim() < 2 || !cpuFloat(weight) || weight.dim() != 2 || weight.size(1) != x.size(-1)) return false;
    if (torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad())) return false;
    return x.numel() / x.size(-1) >= kLinearMinRows;
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

}  // namespace dilute::model::kernels
