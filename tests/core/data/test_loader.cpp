// data/loader.h and the calibration sample: the same batches for any worker count, every index once,
// drop-last, normalisation, and a stratified sample that covers every class.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "core/test_util.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/memory_dataset.h"
#include "data/transforms.h"
#include "model/preset.h"
#include "util/error.h"

using namespace dilute;
using namespace dilute::data;
using dilute::testing::TempDir;
using dilute::testing::writeIdx;

TEST(Loader, SameBatchesForAnyWorkerCountEveryIndexOnce) {
    TempDir d("loader");
    writeIdx(d.path(), "train", 103, 28, 28, std::vector<uint8_t>(103, 4));
    auto ds = openDataset("idx:" + d.path(), "train");
    auto cfg = model::preset("vit_nano_patch7_28");
    auto run = [&](int workers) {
        LoaderOptions o;
        o.batch_size = 10;
        o.shuffle = true;
        o.seed = 42;
        o.workers = workers;
        Loader l(ds, trainTransform(cfg, "rrc+flip"), o);
        std::vector<torch::Tensor> out;
        for (int e = 0; e < 2; ++e) {
            l.startEpoch(e);
            Batch b;
            std::multiset<size_t> idx;
            while (l.next(b)) {
                out.push_back(b.images);
                idx.insert(b.indices.begin(), b.indices.end());
            }
            EXPECT_EQ(idx.size(), 103u);
            EXPECT_EQ(std::set<size_t>(idx.begin(), idx.end()).size(), 103u);
        }
        return out;
    };
    auto a = run(1), b = run(4), c = run(0);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_TRUE(torch::equal(a[i], b[i])) << "batch " << i;
        EXPECT_TRUE(torch::equal(a[i], c[i])) << "batch " << i;
    }
    EXPECT_FALSE(torch::equal(a[0], a[11]));  // epochs differ
}

TEST(Loader, DropLastAndEvalTransformNormalizes) {
    TempDir d("loader2");
    writeIdx(d.path(), "train", 25, 28, 28, std::vector<uint8_t>(25, 1));
    auto ds = openDataset("idx:" + d.path(), "train");
    auto cfg = model::preset("vit_nano_patch7_28");
    LoaderOptions o;
    o.batch_size = 10;
    o.drop_last = true;
    Loader l(ds, evalTransform(cfg), o);
    EXPECT_EQ(l.batchesPerEpoch(), 2u);
    l.startEpoch(0);
    Batch b;
    ASSERT_TRUE(l.next(b));
    const float expect = float((ds->image(0).pixels[3] / 255.0 - 0.2860) / 0.3530);
    EXPECT_NEAR(b.images[0][0][0][3].item<float>(), expect, 1e-5);
    EXPECT_EQ(b.labels[0].item<int64_t>(), 1);
}

TEST(Calibration, StratifiedSampleCoversAClassSortedDatasetEvenly) {
    // 10 classes stored one after the other (as a folder dataset lists them), uneven sizes.
    std::vector<int> labels;
    const int sizes[10] = {300, 300, 300, 300, 300, 300, 300, 300, 300, 7};
    for (int k = 0; k < 10; ++k) labels.insert(labels.end(), size_t(sizes[k]), k);
    std::vector<std::string> names;
    for (int k = 0; k < 10; ++k) names.push_back("c" + std::to_string(k));
    auto ds =
        std::make_shared<MemoryDataset>("sorted", std::vector<uint8_t>(labels.size() * 4, 0), labels, 2, 2, 1, names);
    // The first 256 in file order: one class only. Stratified: every class.
    auto first = limitDataset(ds, 256);
    std::set<int> seen;
    for (size_t i = 0; i < first->size(); ++i) seen.insert(first->label(i));
    EXPECT_EQ(seen.size(), 1u);
    std::vector<size_t> per;
    auto s = stratifiedSample(ds, 256, 42, &per);
    ASSERT_EQ(s->size(), 256u);
    std::vector<size_t> counted(10, 0);
    for (size_t i = 0; i < s->size(); ++i) ++counted[size_t(s->label(i))];
    EXPECT_EQ(counted, per);
    EXPECT_EQ(per[9], 7u);  // the small class gives all it has...
    for (int k = 0; k < 9; ++k)
        EXPECT_TRUE(per[size_t(k)] == 27 || per[size_t(k)] == 28) << k;  // ...the rest share 249
    // Seeded: the same sample for the same seed, another for another seed; distinct items.
    auto again = stratifiedSample(ds, 256, 42), other = stratifiedSample(ds, 256, 43);
    bool same = true, differ = false;
    for (size_t i = 0; i < 256; ++i) {
        same = same && s->source(i) == again->source(i);
        differ = differ || s->source(i) != other->source(i);
    }
    EXPECT_TRUE(same);
    EXPECT_TRUE(differ);
    std::set<std::string> distinct;
    for (size_t i = 0; i < 256; ++i) distinct.insert(s->source(i));
    EXPECT_EQ(distinct.size(), 256u);
    // Asking for more than there is: all of it.
    EXPECT_EQ(stratifiedSample(ds, 1u << 20, 0)->size(), labels.size());
}
