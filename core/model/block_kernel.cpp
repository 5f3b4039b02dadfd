// kernels::block (model/kernels.h): a whole pre-norm ViT block in one OpenMP region, for CPU
// float32 inference. Image groups per thread when the batch shares out evenly, else every step
// split over the threads with a spinning barrier between steps.
#include "model/kernels.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>

#include "model/block_parts.h"
#include "model/kernel_support.h"

namespace dilute::model::kernels {
using namespace detail;
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
                                  &w.norm2_w, &w.norm2_b, &w.fc1_w, &w.fc1_b, &w.fc2_w,  &w.fc2_b};
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
    auto p = [](const torch::Tensor& t) {
        return t.defined() ? t.data_ptr<float>() : static_cast<const float*>(nullptr);
    };
    BlockData d{p(w.norm1_w),
                p(w.norm1_b),
                p(w.qkv_w),
                p(w.qkv_b),
                p(w.proj_w),
                p(w.proj_b),
                p(w.norm2_w),
                p(w.norm2_b),
                p(w.fc1_w),
                p(w.fc1_b),
                p(w.fc2_w),
                p(w.fc2_b),
                static_cast<float>(w.eps1),
                static_cast<float>(w.eps2),
                static_cast<float>(w.keep),
                static_cast<float>(w.mix),
                x.size(0),
                x.size(1),
                x.size(2),
                w.fc1_w.size(0),
                w.heads,
                0,
                w.qkv_w.defined(),
                w.keep != 1.0};
    d.hd = d.attends ? d.C / d.heads : 0;
    return d;
}

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
    TORCH_CHECK(blockApplies(x, w),
                "kernels::block: needs a contiguous CPU float32 [B, N, C] x, matching CPU float32 "
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
