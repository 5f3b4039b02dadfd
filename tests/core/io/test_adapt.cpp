// Moving a model to the user's data (io/adapt.h, model/posembed.h): the position grid resampled
// as timm's resample_abs_pos_embed does (against F.interpolate, tests/reference/make_vit_golden.py),
// whole models at another resolution against timm's create_model(img_size=...) + checkpoint
// filter, and a new head for another class count.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/test_util.h"
#include "data/memory_dataset.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "model/posembed.h"
#include "util/error.h"

using namespace dilute;
using dilute::testing::errorText;

namespace {
std::string golden(const std::string& f) { return std::string(DILUTE_SOURCE_DIR) + "/tests/data/golden/" + f; }

io::OpenOptions heads2() {
    io::OpenOptions o;
    o.heads = 2;  // the golden models are 32 wide: no standard width says it
    return o;
}

}  // namespace

TEST(PosEmbed, ResampledAsTimmDoes) {
    const auto f = io::readSafetensors(golden("resample.safetensors"));
    struct Case {
        const char *in, *out;
        int grid, prefix;
    };
    for (const auto& c :
         {Case{"cls_17", "cls_17_to_2", 2, 1}, Case{"cls_17", "cls_17_to_6", 6, 1}, Case{"reg_19", "reg_19_to_5", 5, 3},
          Case{"none_49", "none_49_to_3", 3, 0}, Case{"none_49", "none_49_to_16", 16, 0}}) {
        SCOPED_TRACE(c.out);
        const auto got = model::resamplePosEmbed(*f.find(c.in), c.grid, c.prefix);
        const auto& want = *f.find(c.out);
        ASSERT_EQ(got.sizes(), want.sizes());
        EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6)) << (got - want).abs().max().item<float>();
    }
    EXPECT_TRUE(model::resamplePosEmbed(*f.find("cls_17"), 4, 1).equal(*f.find("cls_17")));  // same grid: unchanged
    EXPECT_NE(errorText([&] {
                  model::resamplePosEmbed(torch::zeros({1, 18, 8}), 2, 1);
              }).find("not a square"),
              std::string::npos);
}

TEST(Adapt, AnotherResolutionGivesTimmsLogits) {
    const auto in = io::readSafetensors(golden("input.safetensors"));
    const auto want = io::readSafetensors(golden("logits.safetensors"));
    struct Case {
        const char *file, *input, *logits;
        int size;
    };
    for (const auto& c :
         {Case{"plain.pth", "input48", "plain_48", 48}, Case{"deit3_legacy.pth", "input16", "deit3_legacy_16", 16}}) {
        SCOPED_TRACE(c.logits);
        auto o = heads2();
        o.img_size = c.size;
        io::ModelOrigin origin;
        auto m = io::openModel(golden(c.file), o, nullptr, nullptr, &origin);
        EXPECT_EQ(m->config().img_size, c.size);
        ASSERT_EQ(origin.adapted.size(), 2u);
        EXPECT_NE(origin.adapted[0].find("pos_embed resampled from a 4x4"), std::string::npos) << origin.adapted[0];
        m->eval();
        torch::NoGradGuard ng;
        const auto got = m->forward(*in.find(c.input));
        EXPECT_TRUE(torch::allclose(got, *want.find(c.logits), 1e-4, 1e-5))
            << (got - *want.find(c.logits)).abs().max().item<float>();
    }
}

TEST(Adapt, ImageSizeMustBeAMultipleOfThePatch) {
    auto o = heads2();
    o.img_size = 28;
    const auto e = errorText([&] { io::openModel(golden("plain.pth"), o); });
    EXPECT_NE(e.find("plain.pth"), std::string::npos) << e;
    EXPECT_NE(e.find("--img-size 28 is not a multiple of the patch size 8"), std::string::npos) << e;
    EXPECT_NE(e.find("24 and 32"), std::string::npos) << e;
    io::OpenOptions p;
    p.img_size = 64;
    const auto pe = errorText([&] { io::openModel("vit_nano_patch7_28", p); });  // patch 7: 64 is not a multiple
    EXPECT_NE(pe.find("not a multiple of the patch size 7"), std::string::npos) << pe;
    p.img_size = 56;
    EXPECT_EQ(io::openModel("vit_nano_patch7_28", p)->config().gridSize(), 8);
}

TEST(Adapt, AnotherClassCountGetsANewHead) {
    auto original = io::openModel(golden("distilled_hub"), heads2());
    auto o = heads2();
    o.num_classes = 7;
    o.seed = 3;
    io::ModelOrigin origin;
    auto m = io::openModel(golden("distilled_hub"), o, nullptr, nullptr, &origin);
    EXPECT_EQ(m->config().num_classes, 7);
    EXPECT_TRUE(m->config().class_names.empty());  // the old names named the old classes
    EXPECT_EQ(m->head->weight.sizes(), (std::vector<int64_t>{7, 32}));
    EXPECT_EQ(m->head_dist->weight.sizes(), (std::vector<int64_t>{7, 32}));
    EXPECT_TRUE(m->head->bias.eq(0).all().item<bool>());
    EXPECT_NEAR(m->head->weight.std().item<double>(), 0.02, 0.006);  // timm's trunc-normal 0.02
    ASSERT_EQ(origin.adapted.size(), 1u);
    EXPECT_NE(origin.adapted[0].find("head replaced: 5 -> 7 classes"), std::string::npos) << origin.adapted[0];
    // Everything but the head is the checkpoint's: the features agree.
    const auto x = torch::randn({2, 3, 32, 32});
    m->eval();
    original->eval();
    torch::NoGradGuard ng;
    EXPECT_TRUE(torch::allclose(m->feature(x), original->feature(x), 1e-6, 1e-6));
    // Same seed, same head (every process of a run and a resume build the same one).
    auto again = io::openModel(golden("distilled_hub"), o);
    EXPECT_TRUE(again->head->weight.equal(m->head->weight));
    // A backbone without a head gets one.
    o.num_classes = 3;
    auto backbone = io::openModel(golden("reg_ema.pth"), o, nullptr, nullptr, &origin);
    EXPECT_EQ(backbone->forward(x).size(1), 3);
    EXPECT_NE(origin.adapted.at(0).find("head added: 3 classes"), std::string::npos);
}

TEST(Adapt, AccuracyRefusesAnotherClassCountNamingBoth) {
    data::MemoryDataset ds("toy", std::vector<uint8_t>(4 * 4 * 2), {0, 1}, 4, 4, 1, {"a", "b"});
    EXPECT_NO_THROW(data::requireClassCount(2, "m.pth", ds));
    const auto e = errorText([&] { data::requireClassCount(1000, "m.pth", ds); });
    EXPECT_NE(e.find("m.pth: the model classifies 1000 classes but"), std::string::npos) << e;
    EXPECT_NE(e.find("has 2"), std::string::npos) << e;
}
