#include "train/gradsync.h"

#include <torch/torch.h>

#include <chrono>

#include "dist/group.h"

namespace dilute::train {

GradSync::GradSync(dist::Group& group, size_t bucket_bytes) : group_(group), bucket_bytes_(bucket_bytes) {}

SyncTotals GradSync::reduce(const std::vector<torch::Tensor>& params, long long samples, double loss_mean, bool stop) {
    const auto t0 = std::chrono::steady_clock::now();
    SyncTotals tot;
    torch::NoGradGuard ng;
    // Buckets of consecutive parameters, each one flat tensor of the gradients times the count.
    std::vector<std::pair<size_t, size_t>> ranges;  // [first, last) parameter of each bucket
    size_t start = 0, bytes = 0;
    for (size_t i = 0; i < params.size(); ++i) {
        bytes += size_t(params[i].numel()) * params[i].element_size();
        if (bytes >= bucket_bytes_ || i + 1 == params.size()) {
            ranges.emplace_back(start, i + 1);
            start = i + 1;
            bytes = 0;
        }
    }
    const double n = double(samples);
    std::vector<torch::Tensor> flats;
    for (const auto& [a, b] : ranges) {
        std::vector<torch::Tensor> parts;
        for (size_t i = a; i < b; ++i) {
            const auto& p = params[i];
            if (p.grad().defined() && samples > 0)
                parts.push_back((p.grad() * n).reshape({-1}));
            else
                parts.push_back(torch::zeros({p.numel()}, p.options()));
        }
        flats.push_back(torch::cat(parts));
    }
    auto scalars = torch::tensor({n, samples > 0 ? loss_mean * n : 0.0, stop ? 1.0 : 0.0}, torch::kDouble);
    const bool cuda = !params.empty() && params[0].is_cuda();
    if (cuda) scalars = scalars.to(params[0].device());
    std::vector<torch::Tensor> all = flats;
    all.push_back(scalars);
    group_.allreduceSum(all);
    scalars = scalars.cpu();
    tot.samples = scalars[0].item<double>();
    tot.loss_sum = scalars[1].item<double>();
    tot.stop = scalars[2].item<double>() > 0;
    if (tot.samples > 0) {
        for (size_t k = 0; k < ranges.size(); ++k) {
            auto flat = flats[k].div_(tot.samples);
            int64_t off = 0;
            for (size_t i = ranges[k].first; i < ranges[k].second; ++i) {
                auto p = params[i];
                const int64_t m = p.numel();
                p.mutable_grad() = flat.narrow(0, off, m).view(p.sizes());
                off += m;
            }
        }
    }
    tot.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return tot;
}

}  // namespace dilute::train
