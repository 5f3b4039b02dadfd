// Data-parallel building blocks: the launch environment, loader shards, and a real two-rank
// c10d/Gloo group (two threads over 127.0.0.1) for gradient averaging and sharded evaluation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>
#include <thread>

#include "data/loader.h"
#include "data/memory_dataset.h"
#include "dist/env.h"
#include "dist/group.h"
#include "dist/launch.h"
#include "model/preset.h"
#include "model/vit.h"
#include "train/evaluate.h"
#include "train/gradsync.h"
#include "util/error.h"

using namespace dilute;

namespace {

dist::GetEnv envOf(const std::map<std::string, std::string>& m) {
    return [m](const char* k) -> const char* {
        auto it = m.find(k);
        return it == m.end() ? nullptr : it->second.c_str();
    };
}

// Runs fn(rank) on two threads, each with its own rank of a world-2 group on loopback.
template <typename Fn>
void twoRanks(Fn fn) {
    const int port = dist::freeLocalPort();
    std::vector<std::thread> ts;
    std::vector<std::string> errors(2);
    for (int r = 0; r < 2; ++r)
        ts.emplace_back([&, r] {
            try {
                dist::LaunchInfo li;
                li.rank = r;
                li.world = 2;
                li.local_rank = r;
                li.local_world = 2;
                li.master_port = port;
                li.source = "test";
                auto g = dist::Group::create(li, "cpu", std::chrono::seconds(60));
                fn(*g);
            } catch (const std::exception& e) {
                errors[r] = e.what();
            }
        });
    for (auto& t : ts) t.join();
    EXPECT_EQ(errors[0], "");
    EXPECT_EQ(errors[1], "");
}

std::shared_ptr<data::MemoryDataset> smallDataset(int n) {
    std::vector<uint8_t> px(size_t(n) * 28 * 28);
    std::vector<int> labels(n);
    for (int i = 0; i < n; ++i) {
        labels[i] = i % 10;
        for (int k = 0; k < 28 * 28; ++k) px[size_t(i) * 784 + k] = uint8_t((i * 37 + k * (1 + i % 7)) % 256);
    }
    std::vector<std::string> classes;
    for (int c = 0; c < 10; ++c) classes.push_back(std::to_string(c));
    return std::make_shared<data::MemoryDataset>("synthetic", px, labels, 28, 28, 1, classes);
}

void expectLaunch(const dist::LaunchInfo& li, int rank, int world, int local, int localWorld, const std::string& addr,
                  int port, const std::string& source) {
    EXPECT_EQ(li.rank, rank);
    EXPECT_EQ(li.world, world);
    EXPECT_EQ(li.local_rank, local);
    EXPECT_EQ(li.local_world, localWorld);
    EXPECT_EQ(li.master_addr, addr);
    EXPECT_EQ(li.master_port, port);
    EXPECT_EQ(li.source, source);
}

}  // namespace

TEST(DistEnv, NoVariablesIsOneProcess) {
    auto li = dist::detectLaunch(envOf({}));
    EXPECT_EQ(li.world, 1);
    EXPECT_EQ(li.rank, 0);
    EXPECT_FALSE(li.distributed());
    EXPECT_EQ(li.source, "single");
}

TEST(DistEnv, TorchrunVariables) {
    auto li = dist::detectLaunch(envOf({{"RANK", "5"},
                                        {"WORLD_SIZE", "8"},
                                        {"LOCAL_RANK", "1"},
                                        {"LOCAL_WORLD_SIZE", "4"},
                                        {"MASTER_ADDR", "node0"},
                                        {"MASTER_PORT", "29400"}}));
    expectLaunch(li, 5, 8, 1, 4, "node0", 29400, "torchrun");
}

TEST(DistEnv, MalformedOrMissingVariablesAreNamed) {
    auto msg = [](const std::map<std::string, std::string>& m) {
        try {
            dist::detectLaunch(envOf(m));
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(msg({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}}).find("RANK='2'"),
              std::string::npos);
    EXPECT_NE(msg({{"RANK", "0"}, {"WORLD_SIZE", "x"}}).find("WORLD_SIZE='x'"), std::string::npos);
    EXPECT_NE(msg({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}}).find("MASTER_PORT"), std::string::npos);
    EXPECT_NE(msg({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "70000"}})
                  .find("MASTER_PORT='70000'"),
              std::string::npos);
    EXPECT_NE(msg({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "2"}}).find("MASTER_ADDR"),
              std::string::npos);
}

TEST(DistEnv, SlurmAndOpenMpi) {
    auto s = dist::detectLaunch(envOf({{"SLURM_PROCID", "3"},
                                       {"SLURM_NTASKS", "4"},
                                       {"SLURM_LOCALID", "1"},
                                       {"SLURM_NTASKS_PER_NODE", "2"},
                                       {"SLURM_JOB_NODELIST", "gpu[07-08]"}}));
    expectLaunch(s, 3, 4, 1, 2, "gpu07", 29500, "slurm");
    EXPECT_EQ(s.master_from, "the first host of SLURM_JOB_NODELIST (gpu[07-08])");
    // A node list that names no host: the variable and its value, before any connection is tried.
    try {
        dist::detectLaunch(envOf({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_JOB_NODELIST", ",gpu1"}}));
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("SLURM_JOB_NODELIST=',gpu1' names no host"), std::string::npos)
            << e.what();
    }
    auto m = dist::detectLaunch(envOf({{"OMPI_COMM_WORLD_RANK", "1"},
                                       {"OMPI_COMM_WORLD_SIZE", "2"},
                                       {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                                       {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                                       {"MASTER_ADDR", "h0"},
                                       {"MASTER_PORT", "1234"}}));
    expectLaunch(m, 1, 2, 1, 2, "h0", 1234, "openmpi");
}

TEST(DistEnv, SlurmHostLists) {
    EXPECT_EQ(dist::firstSlurmHost("node1"), "node1");
    EXPECT_EQ(dist::firstSlurmHost("node1,node2"), "node1");
    EXPECT_EQ(dist::firstSlurmHost("gpu[07-09,12]"), "gpu07");
    EXPECT_EQ(dist::firstSlurmHost("gpu[3,5]-ib,cpu1"), "gpu3-ib");
    EXPECT_EQ(dist::firstSlurmHost("cpu1,gpu[1-2]"), "cpu1");
    EXPECT_THROW(dist::firstSlurmHost("gpu[1-2"), Error);
}

TEST(DistLaunch, WithoutOptionDropsTheOptionAndItsValue) {
    std::vector<std::string> a{"dilute", "train", "--nproc", "2", "-e", "1", "--nproc=3", "--nprocs-x"};
    EXPECT_EQ(dist::withoutOption(a, "--nproc"),
              (std::vector<std::string>{"dilute", "train", "-e", "1", "--nprocs-x"}));
}

TEST(DistLoader, ShardsPartitionEveryGlobalBatch) {
    auto ds = smallDataset(53);
    auto cfg = model::preset("vit_nano_patch7_28");
    auto batchesOf = [&](int rank, int count) {
        data::LoaderOptions o;
        o.batch_size = 12;  // global batch; the last one has 5 samples
        o.shuffle = true;
        o.seed = 7;
        o.workers = rank % 2;  // threads or not: same batches
        o.shard_rank = rank;
        o.shard_count = count;
        data::Loader l(ds, data::evalTransform(cfg), o);
        l.startEpoch(3);
        std::vector<std::vector<size_t>> out;
        data::Batch b;
        while (l.next(b)) out.push_back(b.indices);
        return out;
    };
    const auto whole = batchesOf(0, 1);
    for (int count : {2, 3, 5}) {
        std::vector<std::vector<std::vector<size_t>>> shards;
        for (int r = 0; r < count; ++r) shards.push_back(batchesOf(r, count));
        for (size_t b = 0; b < whole.size(); ++b) {
            std::multiset<size_t> u;
            for (int r = 0; r < count; ++r) {
                ASSERT_EQ(shards[r].size(), whole.size());
                u.insert(shards[r][b].begin(), shards[r][b].end());
            }
            EXPECT_EQ(u, std::multiset<size_t>(whole[b].begin(), whole[b].end())) << "batch " << b << " of " << count;
        }
    }
}

TEST(DistGroup, GradSyncIsTheGlobalBatchMeanWithUnequalShards) {
    // Rank r holds n_r samples whose mean gradient is g_r; the global mean is sum n_r g_r / sum n_r.
    const std::vector<long long> n{3, 5};
    twoRanks([&](dist::Group& g) {
        const int r = g.rank();
        auto a = torch::zeros({2, 3}, torch::requires_grad());
        auto b = torch::zeros({4}, torch::requires_grad());
        auto unused = torch::zeros({2}, torch::requires_grad());
        a.mutable_grad() = torch::full({2, 3}, r == 0 ? 1.0f : 3.0f);
        b.mutable_grad() = torch::arange(4, torch::kFloat) * (r + 1);
        if (r == 1) unused.mutable_grad() = torch::ones({2});  // rank 0 has none: counts as zeros
        train::GradSync sync(g, /*bucket_bytes=*/16);          // several buckets
        auto tot = sync.reduce({a, b, unused}, n[r], r == 0 ? 2.0 : 4.0, r == 1);
        EXPECT_DOUBLE_EQ(tot.samples, 8);
        EXPECT_DOUBLE_EQ(tot.loss_sum, 3 * 2.0 + 5 * 4.0);
        EXPECT_TRUE(tot.stop);
        EXPECT_TRUE(torch::allclose(a.grad(), torch::full({2, 3}, (3 * 1.0f + 5 * 3.0f) / 8)));
        EXPECT_TRUE(torch::allclose(b.grad(), torch::arange(4, torch::kFloat) * ((3 * 1.0f + 5 * 2.0f) / 8)));
        EXPECT_TRUE(torch::allclose(unused.grad(), torch::full({2}, 5.0f / 8)));
    });
}

TEST(DistGroup, BroadcastAndShardedEvaluationCountEveryImageOnce) {
    auto ds = smallDataset(101);
    auto cfg = model::preset("vit_nano_patch7_28");
    // The single-process reference.
    torch::manual_seed(1);
    auto ref = model::buildModel(cfg);
    data::LoaderOptions lo;
    lo.batch_size = 16;
    data::Loader l1(ds, data::evalTransform(cfg), lo);
    const auto one = train::evaluate(*ref, l1);
    ASSERT_EQ(one.images, 101);
    std::vector<train::EvalResult> got(2);
    twoRanks([&](dist::Group& g) {
        torch::manual_seed(100 + g.rank());  // different init on each rank ...
        auto m = model::buildModel(cfg);
        if (g.isMain()) {
            torch::NoGradGuard ng;
            for (size_t i = 0; i < m->parameters().size(); ++i) m->parameters()[i].copy_(ref->parameters()[i]);
        }
        std::vector<torch::Tensor> ps;
        for (auto& p : m->parameters()) ps.push_back(p.data());
        g.broadcast(ps);  // ... until rank 0's weights are broadcast
        data::LoaderOptions o = lo;
        o.batch_size = 16 * 2;
        o.shard_rank = g.rank();
        o.shard_count = 2;
        data::Loader l(ds, data::evalTransform(cfg), o);
        got[g.rank()] = train::evaluate(*m, l, "cpu", nullptr, {}, &g);
    });
    for (const auto& r : got) {
        EXPECT_EQ(r.images, 101);
        EXPECT_EQ(r.correct1, one.correct1);
        EXPECT_EQ(r.correct5, one.correct5);
        EXPECT_NEAR(r.loss, one.loss, 1e-5 * std::abs(one.loss));
    }
}

TEST(DistGroup, RendezvousTimesOutWithAClearError) {
    dist::LaunchInfo li;
    li.rank = 1;  // rank 0 never comes
    li.world = 2;
    li.master_port = dist::freeLocalPort();
    li.master_from = "MASTER_ADDR";
    try {
        dist::Group::create(li, "cpu", std::chrono::seconds(2));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("rank 1 of 2: rendezvous at 127.0.0.1:"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("(host from MASTER_ADDR)"), std::string::npos) << e.what();
    }
}

TEST(DistGroup, ConnectGivesAWorldOfOneARealProcessGroup) {
    dist::LaunchInfo li;
    li.master_port = dist::freeLocalPort();
    EXPECT_EQ(dist::Group::create(li, "cpu", std::chrono::seconds(10))->backend(), "none");
    auto g = dist::Group::connect(li, "cpu", std::chrono::seconds(10));
    EXPECT_EQ(g->backend(), "gloo");
    auto t = torch::tensor({1.5f, -2.0f});
    g->allreduceSum({t});
    g->broadcast({t});
    g->barrier();
    EXPECT_TRUE(torch::equal(t, torch::tensor({1.5f, -2.0f})));  // a sum over one rank
}

TEST(DistGroup, ABackendThatCannotServeIsRefused) {
    dist::LaunchInfo li;
    li.master_port = dist::freeLocalPort();
    EXPECT_THROW(dist::Group::connect(li, "cpu", std::chrono::seconds(10), "mpi"), Error);
    li.master_port = dist::freeLocalPort();
    try {
        dist::Group::connect(li, "cpu", std::chrono::seconds(10), "nccl");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("NCCL needs CUDA tensors"), std::string::npos) << e.what();
    }
}
