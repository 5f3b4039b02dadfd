#pragma once
// Threaded batch loader: worker threads decode + transform whole batches, a bounded prefetch
// window keeps memory independent of dataset size, and per-sample seeds make the batches
// identical for any worker count.
#include <torch/types.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"

namespace dilute::data {

struct LoaderOptions {
    int batch_size = 128;
    bool shuffle = false;
    bool drop_last = false;
    uint64_t seed = 0;
    int workers = 2;   // 0: load in the calling thread
    int prefetch = 4;  // batches ready ahead of the consumer
    bool pin_memory = false;
    // Data-parallel sharding (torch's DistributedSampler, strided): batch_size is the global
    // batch; this process takes positions shard_rank, shard_rank + shard_count, ... of each one,
    // so the union over ranks is exactly the single-process batch and every sample counts once.
    int shard_rank = 0;
    int shard_count = 1;
};

struct Batch {
    torch::Tensor images;  // [B,C,S,S] float32, contiguous
    torch::Tensor labels;  // [B] int64
    std::vector<size_t> indices;
    int skipped = 0;  // undecodable images left out of this batch
};

struct SkipReport {
    long long count = 0;                // skips, all epochs together
    long long files = 0;                // distinct images skipped
    std::vector<std::string> examples;  // first few "file: why", one per file
    /// One warning for a log: "N undecodable images skipped (K files), e.g.:" and the examples
    /// on indented lines; empty when nothing was skipped. `what` names the data ("training images").
    std::string message(const std::string& what = "images") const;
};

class Loader {
public:
    Loader(DatasetPtr ds, TransformConfig t, LoaderOptions o);
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    /// Starts an epoch (shuffles by seed + epoch) at batch `first` (resume mid-epoch).
    /// Must be called before next().
    void startEpoch(int epoch, size_t first = 0);
    /// The next batch of the epoch; false when the epoch is over.
    bool next(Batch& out);
    size_t batchesPerEpoch() const;
    size_t numSamples() const { return ds_->size(); }
    const Dataset& dataset() const { return *ds_; }
    SkipReport skipped() const;
    /// The order of sample indices for an epoch (exposed for tests).
    std::vector<size_t> epochOrder(int epoch) const;

private:
    Batch build(size_t b) const;
    void work();
    void stopWorkers();

    DatasetPtr ds_;
    TransformConfig t_;
    LoaderOptions o_;
    int epoch_ = 0;
    std::vector<size_t> order_;
    size_t nbatches_ = 0;

    mutable std::mutex mu_;
    std::condition_variable cv_produced_, cv_consumed_;
    std::map<size_t, Batch> ready_;
    std::exception_ptr error_;
    size_t next_to_build_ = 0, next_to_take_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
    mutable std::mutex skip_mu_;
    mutable SkipReport skips_;
    mutable std::set<size_t> skipped_indices_;
};

}  // namespace dilute::data
