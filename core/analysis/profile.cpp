#include "analysis/profile.h"

#include <torch/torch.h>

#include <cmath>

#include "analysis/entropy.h"
#include "data/loader.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::analysis {

EntropyProfile entropyProfile(model::VisionTransformerImpl& m, const std::vector<torch::Tensor>& batches,
                              const std::string& output, const CancelToken* cancel,
                              const std::function<void(long long, long long)>& step) {
    if (output != "cls" && output != "logits") throw Error("output entropy '" + output + "': expected cls or logits");
    c10::InferenceMode inference;  // no autograd bookkeeping at all (faster than NoGradGuard)
    m.eval();
    const int L = m.depth(), H = m.config().num_heads, hd = m.config().headDim();
    std::vector<GaussianEntropy> attn(L), heads(L), mlp(L);
    GaussianEntropy out;
    long long done = 0;
    for (const auto& b : batches) {
        if (cancel) cancel->throwIfCancelled();
        model::FeatureTaps taps;
        m.forward(b, &taps);
        for (int l = 0; l < L; ++l) {
            if (taps.attn[l].defined()) {
                attn[l].add(taps.attn[l]);
                heads[l].add(taps.attn_heads[l]);
            }
            mlp[l].add(taps.mlp[l]);
        }
        out.add(output == "cls" ? taps.cls : taps.logits);
        if (step) step(++done, static_cast<long long>(batches.size()));
    }
    EntropyProfile p;
    p.depth = L;
    p.heads = H;
    p.embed_dim = m.config().embed_dim;
    p.head_dim = hd;
    p.output_kind = output;
    int fl = 0;
    for (int l = 0; l < L; ++l) {
        std::vector<double> hrow(H, NAN);
        if (attn[l].count() > 0) {
            p.attn.push_back(attn[l].entropy(0, -1, &fl));
            p.floored_channels += fl;
            for (int h = 0; h < H; ++h) {
                hrow[h] = heads[l].entropy(h * hd, (h + 1) * hd, &fl);
                p.floored_channels += fl;
            }
        } else {
            p.attn.push_back(NAN);
        }
        p.head.push_back(hrow);
        p.mlp.push_back(mlp[l].entropy(0, -1, &fl));
        p.floored_channels += fl;
    }
    p.output = out.entropy(0, -1, &fl);
    p.floored_channels += fl;
    return p;
}

void checkImagesFit(size_t n, const model::ViTConfig& cfg, const std::string& what, const std::string& option) {
    const double bytes = double(n) * cfg.in_chans * cfg.img_size * cfg.img_size * sizeof(float);
    const double limit = double(fs::memoryLimitBytes());
    if (bytes > limit)
        throw Error(std::to_string(n) + " " + what + " of " + std::to_string(cfg.img_size) + "x" + std::to_string(cfg.img_size) +
                    "x" + std::to_string(cfg.in_chans) + " need " + std::to_string(uint64_t(bytes / (1 << 20))) +
                    " MiB in memory, over the limit of " + std::to_string(uint64_t(limit / (1 << 20))) +
                    " MiB (half the memory): use fewer (" + option + ")");
}

std::vector<torch::Tensor> loadCalibration(const model::ViTConfig& cfg, const std::string& uri, const std::string& split,
                                           size_t n, int batch, int workers, const std::string& device,
                                           const CancelToken* cancel, data::SkipReport* skipped,
                                           const std::string& order, uint64_t seed, std::vector<size_t>* perClass) {
    data::DatasetPtr ds;
    if (order == "stratified")
        ds = data::stratifiedSample(data::openDataset(uri, split), n, seed, perClass);
    else if (order == "first")
        ds = data::limitDataset(data::openDataset(uri, split), n);
    else
        throw Error("calibration order '" + order + "': expected stratified or first");
    checkImagesFit(ds->size(), cfg, "calibration images", "--calib");
    if (ds->channels() != cfg.in_chans && !(ds->channels() == 1 || cfg.in_chans == 1 || cfg.in_chans == 3))
        throw Error("dataset channels do not fit the model");
    return loadImages(cfg, ds, batch, workers, device, cancel, skipped);
}

std::vector<torch::Tensor> loadImages(const model::ViTConfig& cfg, const data::DatasetPtr& ds, int batch, int workers,
                                      const std::string& device, const CancelToken* cancel, data::SkipReport* skipped,
                                      std::vector<torch::Tensor>* labels) {
    data::LoaderOptions lo;
    lo.batch_size = batch;
    lo.workers = workers;
    data::Loader loader(ds, data::evalTransform(cfg), lo);
    loader.startEpoch(0);
    std::vector<torch::Tensor> out;
    data::Batch b;
    while (loader.next(b)) {
        if (cancel) cancel->throwIfCancelled();
        if (b.images.size(0) == 0) continue;
        out.push_back(b.images.to(torch::Device(device)));
        if (labels) labels->push_back(b.labels.to(torch::Device(device)));
    }
    if (skipped) *skipped = loader.skipped();
    return out;
}

}  // namespace dilute::analysis
