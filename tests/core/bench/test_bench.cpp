// bench/bench.h and bench/memory.h: memory figures that mean what they say. Activations are
// counted where LibTorch allocates them, so the same pass gives the same figure every time, a
// larger batch needs more, and removing attention never needs more.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "bench/bench.h"
#include "bench/memory.h"
#include "model/preset.h"
#include "model/vit.h"

using namespace dilute;

namespace {
bench::BenchOptions quick(int batch) {
    bench::BenchOptions o;
    o.batch = batch;
    o.warmup = 1;
    o.repeats = 2;
    o.latency_runs = 2;
    return o;
}
}  // namespace

TEST(TensorMemory, CountsLiveBytesAndTheirPeakWhileInstalled) {
    {
        bench::TensorMemory::Scope counting;
        const auto before = bench::TensorMemory::liveBytes();
        bench::TensorMemory::resetPeak();
        {
            auto a = torch::empty({1 << 20}, torch::kFloat);  // 4 MiB
            EXPECT_EQ(bench::TensorMemory::liveBytes() - before, 4 << 20);
        }
        EXPECT_EQ(bench::TensorMemory::liveBytes(), before);
        EXPECT_EQ(bench::TensorMemory::peakBytes() - before, 4 << 20);
    }
    // Uninstalled: allocations after the measurement cost nothing and are not counted.
    const auto live = bench::TensorMemory::liveBytes();
    auto b = torch::empty({1 << 20}, torch::kFloat);
    EXPECT_EQ(bench::TensorMemory::liveBytes(), live);
}

TEST(Bench, RemovingAttentionNeverReportsMoreMemory) {
    auto full = model::buildModel(model::preset("vit_nano_patch7_28"));
    full->initWeights(0);
    auto pruned = model::buildModel(model::preset("vit_nano_patch7_28"));
    pruned->initWeights(0);
    pruned->removeAttention({0, 2, 4}, true);
    for (int batch : {1, 16}) {
        SCOPED_TRACE(batch);
        const auto f = bench::benchModel(*full, "full", quick(batch));
        const auto again = bench::benchModel(*full, "full", quick(batch));
        const auto p = bench::benchModel(*pruned, "pruned", quick(batch));
        EXPECT_GT(f.activation_mb, 0.0);
        EXPECT_DOUBLE_EQ(again.activation_mb, f.activation_mb);  // the pass's own figure, not the process's history
        EXPECT_LE(p.activation_mb, f.activation_mb);
        EXPECT_LT(p.weights_mb, f.weights_mb);
        EXPECT_LT(p.peak_mb, f.peak_mb);
        EXPECT_DOUBLE_EQ(f.peak_mb, f.weights_mb + f.activation_mb);
    }
    EXPECT_GT(bench::benchModel(*full, "full", quick(16)).activation_mb,
              bench::benchModel(*full, "full", quick(1)).activation_mb);
    const auto j = nlohmann::json::parse(bench::toJson(bench::benchModel(*pruned, "pruned", quick(2))));
    EXPECT_EQ(j["removed_blocks"], nlohmann::json({0, 2, 4}));
    EXPECT_GT(j["activation_mb"].get<double>(), 0.0);
}
