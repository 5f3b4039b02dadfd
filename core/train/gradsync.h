#pragma once
// Gradient averaging for data-parallel training (what torch DDP's reducer does, after backward):
// the gradients of the parameters in use are packed into flat buckets of about 25 MB, each
// weighted by this rank's sample count, summed over the ranks in one collective per bucket
// (all issued before any is waited on), and divided by the total count. The result is the
// gradient of the mean loss over the global batch, exact even when ranks hold unequal shards
// (a last partial batch, skipped images). Three scalars travel with it: samples, loss sum and
// a stop flag, so every rank sees the global loss and stops on the same step.
#include <torch/types.h>

#include <vector>

namespace dilute::dist {
class Group;
}

namespace dilute::train {

struct SyncTotals {
    double samples = 0;   // over all ranks
    double loss_sum = 0;  // sum of per-sample losses over all ranks
    bool stop = false;    // some rank asked to stop (Ctrl-C, SIGTERM)
    double seconds = 0;   // wall time of the packing + collectives + unpacking
};

class GradSync {
public:
    explicit GradSync(dist::Group& group, size_t bucket_bytes = size_t(25) << 20);
    /// `params`: the parameters in use this step, in the same order on every rank (undefined
    /// gradients count as zeros). `samples` and `loss_mean`: this rank's batch. On return each
    /// parameter's gradient is the global average.
    SyncTotals reduce(const std::vector<torch::Tensor>& params, long long samples, double loss_mean, bool stop);

private:
    dist::Group& group_;
    size_t bucket_bytes_;
};

}  // namespace dilute::train
