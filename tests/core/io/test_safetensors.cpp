#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "core/test_util.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "model/vit.h"
#include "util/error.h"

using namespace dilute;
using dilute::testing::errorText;
using dilute::testing::readBytes;
using dilute::testing::TempDir;
using dilute::testing::writeBytes;

namespace {

model::ViTConfig smallCfg() {
    auto c = model::preset("vit_nano_patch7_28");
    c.depth = 3;
    return c;
}

// Writes a raw safetensors file from a header string and data bytes.
void writeRaw(const std::string& path, const std::string& header, size_t dataBytes) {
    std::vector<uint8_t> b(8);
    for (int i = 0; i < 8; ++i) b[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
    b.insert(b.end(), header.begin(), header.end());
    b.resize(b.size() + dataBytes, 0);
    writeBytes(path, b);
}

}  // namespace

TEST(Safetensors, RoundTripAllFloatDtypes) {
    TempDir d("st");
    auto t = torch::randn({3, 5});
    for (auto dt : {torch::kFloat, torch::kHalf, torch::kBFloat16, torch::kDouble}) {
        const auto p = d.file("x.safetensors");
        io::writeSafetensors(p, {{"a", t}, {"b.c", t * 2}}, {{"k", "v"}}, dt);
        auto f = io::readSafetensors(p);
        ASSERT_EQ(f.tensors.size(), 2u);
        EXPECT_EQ(f.tensors[0].first, "a");
        EXPECT_EQ(f.tensors[0].second.scalar_type(), dt);
        EXPECT_EQ(f.metadata.at("k"), "v");
        EXPECT_TRUE(torch::allclose(f.tensors[1].second.to(torch::kFloat), (t * 2).to(dt).to(torch::kFloat)));
    }
}

TEST(Safetensors, ModelRoundTripSameTensorsSameOutput) {
    TempDir d("model");
    auto m = model::buildModel(smallCfg());
    m->initWeights(11);
    m->eval();
    io::saveModel(*m, d.file("m.safetensors"));
    std::map<std::string, std::string> meta;
    auto m2 = io::openModel(d.file("m.safetensors"), {}, &meta);
    m2->eval();
    EXPECT_EQ(m2->config().depth, 3);
    EXPECT_TRUE(meta.count("dilute.arch"));
    auto p1 = m->named_parameters(), p2 = m2->named_parameters();
    ASSERT_EQ(p1.size(), p2.size());
    for (const auto& it : p1) EXPECT_TRUE(torch::equal(it.value(), p2[it.key()])) << it.key();
    auto x = torch::randn({2, 1, 28, 28});
    EXPECT_TRUE(torch::equal(m->forward(x), m2->forward(x)));
}

TEST(Safetensors, PrunedModelIsSelfDescribing) {
    TempDir d("pruned");
    auto m = model::buildModel(smallCfg());
    m->initWeights(3);
    m->eval();
    m->removeAttention({1}, true);
    io::saveModel(*m, d.file("p.safetensors"));
    auto m2 = io::openModel(d.file("p.safetensors"));
    m2->eval();
    EXPECT_EQ(m2->removedBlocks(), std::vector<int>{1});
    EXPECT_TRUE(m2->folded());
    auto x = torch::randn({2, 1, 28, 28});
    EXPECT_TRUE(torch::equal(m->forward(x), m2->forward(x)));
    auto f = io::readSafetensors(d.file("p.safetensors"));
    EXPECT_EQ(f.find("blocks.1.attn.qkv.weight"), nullptr);
    EXPECT_NE(f.find("blocks.0.attn.qkv.weight"), nullptr);
}

TEST(Safetensors, TimmFileOfAnOddWidthNeedsItsHeadsOrArch) {
    TempDir d("timm");
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    std::vector<std::pair<std::string, torch::Tensor>> sd;
    for (const auto& it : m->named_parameters()) sd.emplace_back(it.key(), it.value());
    io::writeSafetensors(d.file("t.safetensors"), sd);
    EXPECT_NE(errorText([&] { io::openModel(d.file("t.safetensors")); }).find("--arch"), std::string::npos);
    io::OpenOptions o;
    o.arch = "vit_nano_patch7_28";
    auto m2 = io::openModel(d.file("t.safetensors"), o);
    EXPECT_EQ(m2->depth(), 6);
}

TEST(Safetensors, TruncatedBody) {
    TempDir d("trunc");
    auto m = model::buildModel(smallCfg());
    io::saveModel(*m, d.file("m.safetensors"));
    auto bytes = readBytes(d.file("m.safetensors"));
    bytes.resize(bytes.size() - 100);
    writeBytes(d.file("m.safetensors"), bytes);
    auto e = errorText([&] { io::openModel(d.file("m.safetensors")); });
    EXPECT_NE(e.find("m.safetensors"), std::string::npos) << e;
    EXPECT_NE(e.find("truncated"), std::string::npos) << e;
}

TEST(Safetensors, HeaderLiesAboutItsLength) {
    TempDir d("lie");
    std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    writeRaw(d.file("x.safetensors"), h, 8);
    auto bytes = readBytes(d.file("x.safetensors"));
    bytes[0] = 0xff;
    bytes[1] = 0xff;
    writeBytes(d.file("x.safetensors"), bytes);
    auto e = errorText([&] { io::readSafetensors(d.file("x.safetensors")); });
    EXPECT_NE(e.find("header claims"), std::string::npos) << e;
    writeBytes(d.file("y.safetensors"), {1, 2, 3});
    EXPECT_NE(errorText([&] { io::readSafetensors(d.file("y.safetensors")); }).find("shorter"), std::string::npos);
    writeRaw(d.file("z.safetensors"), "{not json", 0);
    EXPECT_NE(errorText([&] { io::readSafetensors(d.file("z.safetensors")); }).find("not valid JSON"),
              std::string::npos);
}

TEST(Safetensors, OverlappingOffsets) {
    TempDir d("overlap");
    writeRaw(
        d.file("x.safetensors"),
        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
        12);
    auto e = errorText([&] { io::readSafetensors(d.file("x.safetensors")); });
    EXPECT_NE(e.find("overlap"), std::string::npos) << e;
    EXPECT_NE(e.find("x.safetensors"), std::string::npos) << e;
}

TEST(Safetensors, EntriesOverTheSameBytesAreRefusedBeforeAnyIsAllocated) {
    // 1024 entries of 4 MiB over one 4 MiB data section promise 4 GiB: the coverage check comes
    // before the tensors are made, so the refusal costs nothing (it used to copy every entry).
    TempDir d("bomb");
    const int n = 1024, floats = 1 << 20;
    std::string h = "{";
    for (int i = 0; i < n; ++i)
        h += (i ? "," : "") + std::string("\"t") + std::to_string(i) + "\":{\"dtype\":\"F32\",\"shape\":[" +
             std::to_string(floats) + "],\"data_offsets\":[0," + std::to_string(4 * floats) + "]}";
    h += "}";
    writeRaw(d.file("bomb.safetensors"), h, 4 * size_t(floats));
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    const auto e = errorText([&] { io::readSafetensors(d.file("bomb.safetensors")); });
    getrusage(RUSAGE_SELF, &after);
    EXPECT_NE(e.find("overlap"), std::string::npos) << e;
    EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 512L * 1024) << "peak resident KiB grew by that much";
}

TEST(Safetensors, HolesTrailingBytesAndOverflowingShapesAreRefused) {
    TempDir d("cover");
    // A hole: bytes 8..12 belong to no tensor.
    writeRaw(
        d.file("hole.safetensors"),
        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})",
        16);
    auto e = errorText([&] { io::readSafetensors(d.file("hole.safetensors")); });
    EXPECT_NE(e.find("hole.safetensors"), std::string::npos) << e;
    EXPECT_NE(e.find("bytes 8..12"), std::string::npos) << e;
    // Trailing bytes after the last tensor.
    writeRaw(d.file("tail.safetensors"), R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 11);
    e = errorText([&] { io::readSafetensors(d.file("tail.safetensors")); });
    EXPECT_NE(e.find("3 trailing bytes"), std::string::npos) << e;
    // A shape whose element count wraps around 64 bits to a small number.
    writeRaw(d.file("wrap.safetensors"),
             R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,1],"data_offsets":[0,0]}})", 0);
    e = errorText([&] { io::readSafetensors(d.file("wrap.safetensors")); });
    EXPECT_NE(e.find("overflows"), std::string::npos) << e;
    writeRaw(d.file("wrap2.safetensors"), R"({"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})",
             0);
    e = errorText([&] { io::readSafetensors(d.file("wrap2.safetensors")); });
    EXPECT_NE(e.find("overflows"), std::string::npos) << e;
    // Exactly covered, with an empty tensor in the middle: fine.
    writeRaw(
        d.file("ok.safetensors"),
        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
        12);
    EXPECT_EQ(io::readSafetensors(d.file("ok.safetensors")).tensors.size(), 3u);
}

TEST(Safetensors, WrongDtype) {
    TempDir d("dtype");
    writeRaw(d.file("x.safetensors"), R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8);
    EXPECT_NE(errorText([&] { io::readSafetensors(d.file("x.safetensors")); }).find("unsupported dtype 'Q4'"),
              std::string::npos);
    writeRaw(d.file("y.safetensors"), R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}})", 8);
    EXPECT_NE(errorText([&] { io::readSafetensors(d.file("y.safetensors")); }).find("do not fit shape"),
              std::string::npos);
    // Integer weights where the model wants floats.
    auto m = model::buildModel(smallCfg());
    std::vector<std::pair<std::string, torch::Tensor>> sd;
    for (const auto& it : m->named_parameters())
        sd.emplace_back(it.key(), it.key() == "head.bias" ? it.value().to(torch::kLong) : it.value());
    io::writeSafetensors(d.file("z.safetensors"), sd);
    auto e = errorText([&] { io::loadStateDict(*m, io::readSafetensors(d.file("z.safetensors")).tensors, true, "z"); });
    EXPECT_NE(e.find("head.bias"), std::string::npos) << e;
}

TEST(Safetensors, WrongShapeAndMissingKeyAreNamedTogether) {
    TempDir d("shape");
    auto m = model::buildModel(smallCfg());
    std::vector<std::pair<std::string, torch::Tensor>> sd;
    for (const auto& it : m->named_parameters()) {
        if (it.key() == "blocks.0.mlp.fc1.bias") continue;  // missing
        sd.emplace_back(it.key(), it.key() == "head.weight" ? torch::zeros({7, 64}) : it.value());
    }
    sd.emplace_back("blocks.9.attn.qkv.weight", torch::zeros({1}));  // unexpected
    auto e = errorText([&] { io::loadStateDict(*m, sd, true, "file.safetensors"); });
    EXPECT_NE(e.find("file.safetensors"), std::string::npos) << e;
    EXPECT_NE(e.find("missing keys (1)"), std::string::npos) << e;
    EXPECT_NE(e.find("blocks.0.mlp.fc1.bias"), std::string::npos) << e;
    EXPECT_NE(e.find("unexpected keys (1)"), std::string::npos) << e;
    EXPECT_NE(e.find("head.weight: file [7, 64] vs model [10, 64]"), std::string::npos) << e;
    auto r = io::loadStateDict(*m, sd, /*strict=*/false, "file.safetensors");
    EXPECT_EQ(r.missing.size(), 1u);
    EXPECT_EQ(r.unexpected.size(), 1u);
    EXPECT_EQ(r.mismatched.size(), 1u);
}

TEST(Safetensors, FailedWriteLeavesOldFileIntact) {
    TempDir d("atomic");
    io::writeSafetensors(d.file("x.safetensors"), {{"a", torch::ones({2})}});
    const auto before = readBytes(d.file("x.safetensors"));
    EXPECT_THROW(io::writeSafetensors(d.file("x.safetensors"), {{"__metadata__", torch::ones({2})}}), Error);
    EXPECT_EQ(readBytes(d.file("x.safetensors")), before);
    EXPECT_THROW(io::writeSafetensors("/proc/nope/x.safetensors", {{"a", torch::ones({2})}}), Error);
}

TEST(CoreHouseRules, CoreNeverIncludesQt) {
    namespace stdfs = std::filesystem;
    int files = 0;
    for (const auto& e : stdfs::recursive_directory_iterator(std::string(DILUTE_SOURCE_DIR) + "/core")) {
        if (!e.is_regular_file()) continue;
        const auto ext = e.path().extension();
        if (ext != ".h" && ext != ".cpp") continue;
        ++files;
        std::ifstream in(e.path());
        std::string line;
        while (std::getline(in, line))
            EXPECT_TRUE(line.find("#include <Q") == std::string::npos && line.find("#include <Qt") == std::string::npos)
                << e.path() << ": " << line;
    }
    EXPECT_GT(files, 10);
}
