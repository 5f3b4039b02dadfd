#include "analysis/sweep.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "analysis/entropy.h"
#include "analysis/profile.h"
#include "data/loader.h"
#include "util/error.h"

namespace dilute::analysis {

long long LabeledSet::size() const {
    long long n = 0;
    for (const auto& l : labels) n += l.size(0);
    return n;
}

LabeledSet loadLabeled(const model::ViTConfig& cfg, const std::string& uri, const std::string& split, size_t n,
                       uint64_t seed, int batch, int workers, const std::string& device, const CancelToken* cancel,
                       std::string* skippedMessage) {
    auto ds = data::openDataset(uri, split);
    data::requireClassCount(cfg.num_classes, cfg.name, *ds);
    if (n > 0 && n < ds->size()) ds = data::stratifiedSample(ds, n, seed);
    checkImagesFit(ds->size(), cfg, split + " images", "--eval-images");
    LabeledSet out;
    data::SkipReport skipped;
    out.images = loadImages(cfg, ds, batch, workers, device, cancel, &skipped, &out.labels);
    if (skippedMessage) *skippedMessage = skipped.message(split + " images");
    if (out.images.empty())
        throw Error(uri + " " + split + ": no readable images to evaluate on" +
                    (skipped.examples.empty()
                         ? std::string()
                         : " (" + std::to_string(skipped.count) + " skipped, e.g. " + skipped.examples.front() + ")"));
    return out;
}

namespace {

long long correct(model::VisionTransformerImpl& m, const torch::Tensor& x, const torch::Tensor& labels) {
    auto logits = m.classify(m.feature(x));
    return logits.argmax(1).eq(labels).sum().item<int64_t>();
}

}  // namespace

double skippedTop1(model::VisionTransformerImpl& m, const LabeledSet& set, const std::vector<int>& skipped,
                   const CancelToken* cancel) {
    c10::InferenceMode inference;
    m.eval();
    const auto skip = attentionSkipMask(m, skipped);
    long long hit = 0;
    for (size_t b = 0; b < set.images.size(); ++b) {
        if (cancel) cancel->throwIfCancelled();
        auto x = m.runBlocks(m.embed(set.images[b]), 0, m.depth(), &skip);
        hit += correct(m, x, set.labels[b]);
    }
    const long long n = set.size();
    return n > 0 ? 100.0 * static_cast<double>(hit) / static_cast<double>(n) : 0.0;
}

long long binomial(int n, int k) {
    if (k < 0 || k > n) return 0;
    k = std::min(k, n - k);
    long double r = 1;
    for (int i = 1; i <= k; ++i) r = r * (n - k + i) / i;
    if (r > static_cast<long double>(std::numeric_limits<long long>::max()))
        return std::numeric_limits<long long>::max();
    return static_cast<long long>(std::llround(r));
}

size_t sweepBytes(const model::ViTConfig& cfg, long long images, int k) {
    // Per level of the stack: the state handed down and the running state of the loop; plus the
    // leaf's working copy and the embedded inputs.
    const size_t state = static_cast<size_t>(images) * cfg.numTokens() * cfg.embed_dim * sizeof(float);
    return state * static_cast<size_t>(2 * k + 3);
}

namespace {

class Sweep {
public:
    Sweep(model::VisionTransformerImpl& m, size_t nCalib, double hFull, const std::string& output,
          const LabeledSet& eval, const std::vector<int>& cand, int k, const CancelToken* cancel, const StepFn& step)
        : m_(m),
          nCalib_(nCalib),
          hFull_(hFull),
          output_(output),
          eval_(eval),
          cand_(cand),
          k_(k),
          cancel_(cancel),
          step_(step),
          skip_(m.depth(), false),
          total_(binomial(static_cast<int>(cand.size()), k)) {}

    void run(std::vector<torch::Tensor> xs) { visit(std::move(xs), 0, 0); }
    std::vector<SubsetScore> out;

private:
    // Each block alone, with the same mask TransferEntropy passes: bitwise the same arithmetic.
    void advance(std::vector<torch::Tensor>& xs, int from, int to) {
        for (auto& x : xs) {
            if (cancel_) cancel_->throwIfCancelled();
            x = m_.runBlocks(x, from, to, &skip_);
        }
    }

    void leaf(std::vector<torch::Tensor> xs, int pos) {
        advance(xs, pos, m_.depth());
        GaussianEntropy h;
        for (size_t b = 0; b < nCalib_; ++b) {
            auto cls = m_.feature(xs[b]);
            h.add(output_ == "logits" ? m_.classify(cls) : cls);
        }
        long long hit = 0;
        for (size_t b = nCalib_; b < xs.size(); ++b) hit += correct(m_, xs[b], eval_.labels[b - nCalib_]);
        SubsetScore s;
        s.blocks = chosen_;
        s.t = hFull_ - h.entropy();
        const long long n = eval_.size();
        s.top1 = n > 0 ? 100.0 * static_cast<double>(hit) / static_cast<double>(n) : 0.0;
        out.push_back(std::move(s));
        if (step_) step_(static_cast<long long>(out.size()), total_);
    }

    // `xs`: the residual stream entering block `pos`, the chosen blocks (all < pos) skipped.
    void visit(std::vector<torch::Tensor> xs, int pos, size_t next) {
        if (static_cast<int>(chosen_.size()) == k_) {
            leaf(std::move(xs), pos);
            return;
        }
        const size_t need = static_cast<size_t>(k_) - chosen_.size();
        int at = pos;
        for (size_t j = next; j + need <= cand_.size(); ++j) {
            const int c = cand_[j];
            advance(xs, at, c);  // the blocks before c run whole
            at = c;
            auto child = xs;
            skip_[c] = true;
            chosen_.push_back(c);
            advance(child, c, c + 1);
            visit(std::move(child), c + 1, j + 1);
            chosen_.pop_back();
            skip_[c] = false;
        }
    }

    model::VisionTransformerImpl& m_;
    size_t nCalib_;
    double hFull_;
    std::string output_;
    const LabeledSet& eval_;
    std::vector<int> cand_;
    int k_;
    const CancelToken* cancel_;
    StepFn step_;
    std::vector<bool> skip_;
    std::vector<int> chosen_;
    long long total_;
};

}  // namespace

std::vector<SubsetScore> sweepSubsets(model::VisionTransformerImpl& m, const std::vector<torch::Tensor>& calib,
                                      double hFull, const std::string& output, const LabeledSet& eval,
                                      const std::vector<int>& candidates, int k, const CancelToken* cancel,
                                      const StepFn& step) {
    if (output != "cls" && output != "logits") throw Error("output entropy '" + output + "': expected cls or logits");
    if (k < 1 || k > static_cast<int>(candidates.size()))
        throw Error("cannot sweep subsets of " + std::to_string(k) + " of " + std::to_string(candidates.size()) +
                    " blocks");
    attentionSkipMask(m, candidates);  // every candidate exists and has attention
    if (!std::is_sorted(candidates.begin(), candidates.end())) throw Error("sweep candidates must be sorted");
    c10::InferenceMode inference;
    m.eval();
    std::vector<torch::Tensor> xs;
    for (const auto& b : calib) xs.push_back(m.embed(b));
    for (const auto& b : eval.images) xs.push_back(m.embed(b));
    Sweep s(m, calib.size(), hFull, output, eval, candidates, k, cancel, step);
    s.run(std::move(xs));
    return std::move(s.out);
}

namespace {

std::vector<double> ranks(const std::vector<double>& v) {
    std::vector<size_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (size_t i = 0; i < idx.size();) {
        size_t j = i;
        while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
        const double avg = 0.5 * static_cast<double>(i + j) + 1.0;
        for (size_t t = i; t <= j; ++t) r[idx[t]] = avg;
        i = j + 1;
    }
    return r;
}

}  // namespace

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) throw Error("spearman: the two series differ in length");
    const size_t n = a.size();
    if (n < 2) return NAN;
    const auto ra = ranks(a), rb = ranks(b);
    const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n,
                 mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; ++i) {
        sab += (ra[i] - ma) * (rb[i] - mb);
        saa += (ra[i] - ma) * (ra[i] - ma);
        sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    if (saa == 0 || sbb == 0) return NAN;
    return sab / std::sqrt(saa * sbb);
}

}  // namespace dilute::analysis
