#include "analysis/profile.h"

#include <torch/torch.h>

#include <cmath>

#include "analysis/entropy.h"
#include "data/loader.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::analysis {

ProfileAccumulator::ProfileAccumulator(const model::VisionTransformerImpl& m, std::string output)
    : depth_(m.depth()),
      heads_(m.config().num_heads),
      embed_dim_(m.config().embed_dim),
      head_dim_(m.config().headDim()),
      output_(std::move(output)),
      attn_(depth_),
      head_(depth_),
      mlp_(depth_) {
    if (output_ != "cls" && output_ != "logits")
        throw Error("output entropy '" + output_ + "': expected cls or logits");
}

void ProfileAccumulator::add(const model::FeatureTaps& taps) {
    if (static_cast<int>(taps.mlp.size()) != depth_ || taps.attn.size() != taps.mlp.size())
        throw Error("entropy profile: the forward recorded " + std::to_string(taps.mlp.size()) + " blocks of " +
                    std::to_string(depth_));
    for (int l = 0; l < depth_; ++l) {
        if (taps.attn[l].defined()) {
            attn_[l].add(taps.attn[l]);
            head_[l].add(taps.attn_heads[l]);
        }
        mlp_[l].add(taps.mlp[l]);
    }
    out_.add(output_ == "cls" ? taps.feature : taps.logits);
}

EntropyProfile ProfileAccumulator::finish() const {
    EntropyProfile p;
    p.depth = depth_;
    p.heads = heads_;
    p.embed_dim = embed_dim_;
    p.head_dim = head_dim_;
    p.output_kind = output_;
    int fl = 0;
    for (int l = 0; l < depth_; ++l) {
        std::vector<double> hrow(heads_, NAN);
        if (attn_[l].count() > 0) {
            p.attn.push_back(attn_[l].entropy(0, -1, &fl));
            p.floored_channels += fl;
            for (int h = 0; h < heads_; ++h) {
                hrow[h] = head_[l].entropy(h * head_dim_, (h + 1) * head_dim_, &fl);
                p.floored_channels += fl;
            }
        } else {
            p.attn.push_back(NAN);
        }
        p.head.push_back(hrow);
        p.mlp.push_back(mlp_[l].entropy(0, -1, &fl));
        p.floored_channels += fl;
    }
    p.output = out_.entropy(0, -1, &fl);
    p.floored_channels += fl;
    return p;
}

EntropyProfile entropyProfile(model::VisionTransformerImpl& m, const std::vector<torch::Tensor>& batches,
                              const std::string& output, const CancelToken* cancel,
                              const std::function<void(long long, long long)>& step) {
    ProfileAccumulator acc(m, output);
    c10::InferenceMode inference;  // no autograd bookkeeping at all (faster than NoGradGuard)
    m.eval();
    long long done = 0;
    for (const auto& b : batches) {
        if (cancel) cancel->throwIfCancelled();
        model::FeatureTaps taps;
        m.forward(b, &taps);
        acc.add(taps);
        if (step) step(++done, static_cast<long long>(batches.size()));
    }
    return acc.finish();
}

void checkImagesFit(size_t n, const model::ViTConfig& cfg, const std::string& what, const std::string& option) {
    const double bytes = double(n) * cfg.in_chans * cfg.img_size * cfg.img_size * sizeof(float);
    const double limit = double(fs::memoryLimitBytes());
    if (bytes > limit)
        throw Error(std::to_string(n) + " " + what + " of " + std::to_string(cfg.img_size) + "x" +
                    std::to_string(cfg.img_size) + "x" + std::to_string(cfg.in_chans) + " need " +
                    std::to_string(uint64_t(bytes / (1 << 20))) + " MiB in memory, over the limit of " +
                    std::to_string(uint64_t(limit / (1 << 20))) + " MiB (half the memory): use fewer (" + option + ")");
}

std::vector<torch::Tensor> loadCalibration(const model::ViTConfig& cfg, const std::string& uri,
                                           const std::string& split, size_t n, int batch, int workers,
                                           const std::string& device, const CancelToken* cancel,
                                           data::SkipReport* skipped, const std::string& order, uint64_t seed,
                                           std::vector<size_t>* perClass) {
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
    data::SkipReport skips;
    auto out = loadImages(cfg, ds, batch, workers, device, cancel, &skips);
    if (skipped) *skipped = skips;
    if (out.empty())  // every image skipped: say why (the first file's reason names the limit and its option)
        throw Error(uri + " " + split + ": no readable calibration images" +
                    (skips.examples.empty()
                         ? std::string()
                         : " (" + std::to_string(skips.count) + " skipped, e.g. " + skips.examples.front() + ")"));
    return out;
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
