#include "train/evaluate.h"

#include <torch/torch.h>

#include <chrono>

#include "dist/group.h"
#include "util/error.h"

namespace dilute::train {

EvalResult evaluate(model::VisionTransformerImpl& m, data::Loader& loader, const std::string& device,
                    const CancelToken* cancel, const ProgressFn& progress, dist::Group* group) {
    if (loader.dataset().numClasses() != m.config().num_classes)
        throw Error("the model has " + std::to_string(m.config().num_classes) + " classes but " +
                    loader.dataset().describe() + " has " + std::to_string(loader.dataset().numClasses()));
    c10::InferenceMode inference;  // no autograd bookkeeping at all (faster than NoGradGuard)
    const bool was_training = m.is_training();
    m.eval();
    const torch::Device dev(device);
    EvalResult r;
    double loss_sum = 0;
    long long c1 = 0, c5 = 0;
    const auto t0 = std::chrono::steady_clock::now();
    loader.startEpoch(0);
    data::Batch b;
    long long done = 0;
    const long long total = static_cast<long long>(loader.batchesPerEpoch());
    while (loader.next(b)) {
        if (cancel) cancel->throwIfCancelled();
        if (b.images.size(0) == 0) continue;
        auto x = b.images.to(dev, /*non_blocking=*/true);
        auto y = b.labels.to(dev, true);
        auto logits = m.forward(x).to(torch::kFloat);
        loss_sum += torch::cross_entropy_loss(logits, y, {}, at::Reduction::Sum).item<double>();
        const int k = std::min<int64_t>(5, logits.size(1));
        auto topk = std::get<1>(logits.topk(k, 1));
        auto hit = topk.eq(y.unsqueeze(1));
        c1 += hit.select(1, 0).sum().item<int64_t>();
        c5 += hit.any(1).sum().item<int64_t>();
        r.images += b.images.size(0);
        if (progress) progress({"eval", ++done, total});
    }
    if (group && group->world() > 1) {
        auto t = torch::tensor({double(r.images), double(c1), double(c5), loss_sum}, torch::kDouble);
        if (dev.is_cuda()) t = t.to(dev);
        group->allreduceSum({t});
        t = t.cpu();
        r.images = static_cast<long long>(t[0].item<double>());
        c1 = static_cast<long long>(t[1].item<double>());
        c5 = static_cast<long long>(t[2].item<double>());
        loss_sum = t[3].item<double>();
    }
    if (r.images == 0)
        throw Error("nothing to evaluate: none of the " + std::to_string(loader.numSamples()) + " images of " +
                    loader.dataset().describe() + " could be decoded");
    r.correct1 = c1;
    r.correct5 = c5;
    r.loss_sum = loss_sum;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r.images > 0) {
        r.top1 = 100.0 * c1 / r.images;
        r.top5 = 100.0 * c5 / r.images;
        r.loss = loss_sum / r.images;
        r.images_per_s = r.images / r.seconds;
    }
    if (was_training) m.train();
    return r;
}

}  // namespace dilute::train
