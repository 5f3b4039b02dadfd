#include "data/loader.h"

#if DILUTE_WITH_OPENCV
#include <opencv2/core.hpp>
#endif
#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "util/error.h"
#include "util/runtime.h"

namespace dilute::data {

Loader::Loader(DatasetPtr ds, TransformConfig t, LoaderOptions o) : ds_(std::move(ds)), t_(std::move(t)), o_(o) {
    if (!ds_ || ds_->size() == 0) throw Error("dataset is empty");
    if (o_.batch_size <= 0) throw Error("batch size must be positive");
    if (o_.prefetch < 1) o_.prefetch = 1;
    if (o_.shard_count < 1 || o_.shard_rank < 0 || o_.shard_rank >= o_.shard_count)
        throw Error("loader shard " + std::to_string(o_.shard_rank) + " of " + std::to_string(o_.shard_count) +
                    ": out of range");
    configureAllocator();
#if DILUTE_WITH_OPENCV
    cv::setNumThreads(0);  // our workers are the parallelism; OpenCV's own pool would oversubscribe
#endif
}

Loader::~Loader() { stopWorkers(); }

void Loader::stopWorkers() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stopping_ = true;
    }
    cv_consumed_.notify_all();
    cv_produced_.notify_all();
    for (auto& w : workers_)
        if (w.joinable()) w.join();
    workers_.clear();
}

std::vector<size_t> Loader::epochOrder(int epoch) const {
    std::vector<size_t> order(ds_->size());
    std::iota(order.begin(), order.end(), size_t{0});
    if (o_.shuffle) {
        std::mt19937_64 rng(sampleSeed(o_.seed, epoch, ~size_t{0}));
        for (size_t i = order.size(); i > 1; --i) {  // Fisher-Yates, portable across standard libraries
            std::uniform_int_distribution<size_t> d(0, i - 1);
            std::swap(order[i - 1], order[d(rng)]);
        }
    }
    return order;
}

size_t Loader::batchesPerEpoch() const {
    const size_t n = ds_->size(), b = o_.batch_size;
    return o_.drop_last ? n / b : (n + b - 1) / b;
}

void Loader::startEpoch(int epoch, size_t first) {
    stopWorkers();
    epoch_ = epoch;
    order_ = epochOrder(epoch);
    nbatches_ = batchesPerEpoch();
    ready_.clear();
    error_ = nullptr;
    next_to_build_ = next_to_take_ = std::min(first, nbatches_);
    stopping_ = false;
    for (int i = 0; i < o_.workers; ++i) workers_.emplace_back([this] { work(); });
}

Batch Loader::build(size_t b) const {
    const size_t begin = b * o_.batch_size, end = std::min(order_.size(), begin + o_.batch_size);
    // This shard's positions of the global batch: begin + rank, begin + rank + count, ...
    const size_t step = size_t(o_.shard_count), first = begin + size_t(o_.shard_rank);
    const size_t mine = first < end ? (end - first + step - 1) / step : 0;
    const int S = t_.out_size, C = t_.channels;
    const size_t per = size_t(C) * S * S;
    auto images = torch::empty({int64_t(mine), C, S, S});
    auto labels = torch::empty({int64_t(mine)}, torch::kLong);
    float* dst = images.data_ptr<float>();
    int64_t* lab = labels.data_ptr<int64_t>();
    Batch out;
    size_t k = 0;
    for (size_t j = first; j < end; j += step) {
        const size_t idx = order_[j];
        std::mt19937_64 rng(sampleSeed(o_.seed, epoch_, idx));
        std::string why;  // set when this image cannot be used
        try {
            // The plan is drawn as soon as the image size is known, so a JPEG is decoded only
            // down to (and from) the rows its random crop uses.
            TransformPlan plan;
            const ImageU8 img = ds_->imageRows(idx, [&](int w, int h) {
                plan = planTransform(w, h, t_, rng);
                return plan.crop ? plan.rows() : std::make_pair(0, h);
            });
            renderTransform(img, plan, t_, dst + k * per);
        } catch (const std::bad_alloc&) {  // one image's allocation failure is that image's error
            why = ds_->source(idx) + ": out of memory while decoding";
        } catch (const Error& e) {
            why = e.what();
        }
        if (!why.empty()) {
            ++out.skipped;
            std::lock_guard<std::mutex> lk(skip_mu_);
            ++skips_.count;
            if (skipped_indices_.insert(idx).second) {
                ++skips_.files;
                if (skips_.examples.size() < 5) skips_.examples.push_back(why);
            }
            continue;
        }
        lab[k] = ds_->label(idx);
        out.indices.push_back(idx);
        ++k;
    }
    if (k < mine) {
        images = images.narrow(0, 0, int64_t(k)).contiguous();
        labels = labels.narrow(0, 0, int64_t(k)).contiguous();
    }
    if (o_.pin_memory && torch::cuda::is_available()) images = images.pin_memory();
    out.images = images;
    out.labels = labels;
    return out;
}

void Loader::work() {
    for (;;) {
        size_t b;
        {
            std::unique_lock<std::mutex> lk(mu_);
            cv_consumed_.wait(lk, [&] {
                return stopping_ || next_to_build_ >= nbatches_ || next_to_build_ < next_to_take_ + o_.prefetch;
            });
            if (stopping_ || next_to_build_ >= nbatches_) return;
            b = next_to_build_++;
        }
        Batch batch;
        std::exception_ptr err;
        try {
            batch = build(b);
        } catch (...) {
            err = std::current_exception();
        }
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (err && !error_) error_ = err;
            ready_[b] = std::move(batch);
        }
        cv_produced_.notify_all();
    }
}

bool Loader::next(Batch& out) {
    if (next_to_take_ >= nbatches_) return false;
    if (workers_.empty()) {
        out = build(next_to_take_++);
        return true;
    }
    std::unique_lock<std::mutex> lk(mu_);
    cv_produced_.wait(lk, [&] { return error_ || ready_.count(next_to_take_); });
    if (error_) std::rethrow_exception(error_);
    out = std::move(ready_[next_to_take_]);
    ready_.erase(next_to_take_);
    ++next_to_take_;
    lk.unlock();
    cv_consumed_.notify_all();
    return true;
}

std::string SkipReport::message(const std::string& what) const {
    if (count == 0) return {};
    std::string m = "warning: " + std::to_string(count) + " undecodable " + what + " skipped";
    if (files != count) m += " (" + std::to_string(files) + " files)";
    m += ", e.g.:";
    for (const auto& e : examples) m += "\n  " + e;
    return m;
}

SkipReport Loader::skipped() const {
    std::lock_guard<std::mutex> lk(skip_mu_);
    return skips_;
}

}  // namespace dilute::data
