// Rank -> device: LOCAL_RANK % GPUs, explicit cuda:N kept, sharing only when asked.
#include <gtest/gtest.h>

#include "dist/placement.h"
#include "util/error.h"

using namespace dilute;

namespace {
dist::LaunchInfo local(int rank, int world) {
    dist::LaunchInfo li;
    li.rank = li.local_rank = rank;
    li.world = li.local_world = world;
    return li;
}
}  // namespace

TEST(Placement, EachLocalRankGetsItsOwnGpu) {
    for (int r = 0; r < 4; ++r) {
        const auto p = dist::placeRank("cuda", local(r, 4), 4, false);
        EXPECT_EQ(p.device, "cuda:" + std::to_string(r));
        EXPECT_FALSE(p.shared);
        EXPECT_EQ(p.backend(), "auto");
    }
}

TEST(Placement, TwoNodesOfFourUseTheLocalRank) {
    auto li = local(1, 4);
    li.rank = 5;
    li.world = 8;
    EXPECT_EQ(dist::placeRank("cuda", li, 4, false).device, "cuda:1");
}

TEST(Placement, MoreLocalRanksThanGpusNeedsAllowShared) {
    try {
        dist::placeRank("cuda", local(1, 2), 1, false);
        FAIL() << "no error";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("LOCAL_RANK=1 of 2"), std::string::npos) << m;
        EXPECT_NE(m.find("1 CUDA device(s)"), std::string::npos) << m;
        EXPECT_NE(m.find("--allow-shared-gpu"), std::string::npos) << m;
    }
    const auto p = dist::placeRank("cuda", local(3, 4), 2, true);
    EXPECT_EQ(p.device, "cuda:1");  // 3 % 2
    EXPECT_TRUE(p.shared);
    EXPECT_EQ(p.backend(), "gloo");  // NCCL refuses two ranks on one GPU
}

TEST(Placement, AnExplicitIndexIsKeptAndSharedByEveryLocalRank) {
    EXPECT_THROW(dist::placeRank("cuda:1", local(0, 2), 4, false), Error);
    const auto p = dist::placeRank("cuda:1", local(1, 2), 4, true);
    EXPECT_EQ(p.device, "cuda:1");
    EXPECT_TRUE(p.shared);
}

TEST(Placement, CpuAndSingleProcessesAreLeftAlone) {
    EXPECT_EQ(dist::placeRank("cpu", local(1, 2), 0, false).device, "cpu");
    EXPECT_FALSE(dist::placeRank("cpu", local(1, 2), 0, false).shared);
    EXPECT_EQ(dist::placeRank("cuda", local(0, 1), 1, false).device, "cuda");
    EXPECT_THROW(dist::placeRank("cuda", local(0, 2), 0, false), Error);  // no GPU on this node
}
