// analysis/selectors.h: the baselines (random, lowest, first) and the pairwise matrix T({i,j}).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "analysis/profile.h"
#include "analysis/selectors.h"
#include "analysis/transfer.h"
#include "core/test_models.h"
#include "model/vit.h"

using namespace dilute;
using namespace dilute::analysis;

TEST(Selectors, BaselinesAndPairwise) {
    auto m = dilute::testing::stretchedModel(4, 5);
    auto batches = dilute::testing::randomImages(2, 16);
    auto p = entropyProfile(*m, batches);
    TransferEntropy te(*m, batches);
    SelectorContext ctx;
    ctx.depth = 5;
    ctx.candidates = te.candidates();
    ctx.profile = &p;
    ctx.te = &te;
    ctx.seed = 7;
    EXPECT_EQ(select("first", 2, ctx).blocks, (std::vector<int>{0, 1}));
    auto low = select("lowest", 2, ctx).blocks;
    for (int l = 0; l < 5; ++l)
        if (std::find(low.begin(), low.end(), l) == low.end())
            for (int s : low) EXPECT_LE(p.attn[s], p.attn[l]);
    auto r1 = select("random", 3, ctx), r2 = select("random", 3, ctx);
    EXPECT_EQ(r1.blocks, r2.blocks);
    ctx.seed = 8;
    auto r3 = select("random", 3, ctx);
    EXPECT_EQ(std::set<int>(r3.blocks.begin(), r3.blocks.end()).size(), 3u);
    EXPECT_THROW(select("bogus", 1, ctx), Error);
    auto pw = pairwiseTransfer(te);
    auto single = singleTransfer(te);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(pw[i][i], single[i]);
        for (int j = 0; j < 5; ++j) EXPECT_EQ(pw[i][j], pw[j][i]);
    }
}
