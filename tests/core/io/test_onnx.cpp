// The ONNX writer (io/onnx.h) against ONNX's own C++ checker and protobuf classes: a removed
// block has no attention node, the metadata carries the preprocessing, weights move to an
// external data file above the limit. (The graph's numbers are checked in ONNX Runtime itself by
// tests/cli/test_onnx.cpp.)
#include <gtest/gtest.h>
#include <torch/torch.h>

#if DILUTE_WITH_ONNX
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "core/test_util.h"
#include "io/onnx.h"
#include "model/vit.h"

using namespace dilute;

namespace {
onnx::ModelProto load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    onnx::ModelProto m;
    EXPECT_TRUE(m.ParseFromIstream(&in)) << path;
    return m;
}
int nodesNamed(const onnx::ModelProto& m, const std::string& prefix) {
    int n = 0;
    for (const auto& node : m.graph().node()) n += node.name().rfind(prefix, 0) == 0;
    return n;
}
}  // namespace

TEST(Onnx, PassesTheCheckerAndLeavesRemovedAttentionOut) {
    dilute::testing::TempDir d("onnx");
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"), {1, 3}, /*folded=*/true);
    m->eval();
    for (int opset : {17, 13}) {
        SCOPED_TRACE(opset);
        io::OnnxOptions o;
        o.opset = opset;
        const auto path = d.file("m" + std::to_string(opset) + ".onnx");
        const auto r = io::saveOnnx(*m, path, o);
        EXPECT_NO_THROW(onnx::checker::check_model(path));
        const auto proto = load(path);
        EXPECT_EQ(proto.opset_import(0).version(), opset);
        EXPECT_EQ(proto.graph().node_size(), r.nodes);
        EXPECT_EQ(nodesNamed(proto, "blocks.1.attn"), 0);  // removed and folded: nothing of it
        EXPECT_EQ(nodesNamed(proto, "blocks.1.residual_scale"), 0);
        EXPECT_GT(nodesNamed(proto, "blocks.0.attn"), 5);
        EXPECT_EQ(nodesNamed(proto, "blocks.0.norm1") > 1, opset == 13);  // LayerNormalization is one node at 17
        EXPECT_EQ(proto.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
        std::map<std::string, std::string> meta;
        for (const auto& p : proto.metadata_props()) meta[p.key()] = p.value();
        EXPECT_NE(meta["preprocessing"].find("\"input_size\":[1,28,28]"), std::string::npos) << meta["preprocessing"];
        EXPECT_EQ(meta["removed_blocks"], "[1,3]");
    }
}

TEST(Onnx, LargeWeightsGoToAnExternalDataFile) {
    dilute::testing::TempDir d("onnx-ext");
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    io::OnnxOptions o;
    o.external_above = 1000;  // bytes: every large initializer moves out
    const auto path = d.file("ext.onnx");
    const auto r = io::saveOnnx(*m, path, o);
    ASSERT_EQ(r.external_data, path + ".data");
    EXPECT_GT(std::filesystem::file_size(r.external_data), r.weight_bytes / 2);
    EXPECT_LT(std::filesystem::file_size(path), 64u * 1024);
    EXPECT_NO_THROW(onnx::checker::check_model(path));  // resolves the external file beside the model
    const auto proto = load(path);
    int external = 0;
    for (const auto& t : proto.graph().initializer()) external += t.data_location() == onnx::TensorProto::EXTERNAL;
    EXPECT_GT(external, 10);
}

TEST(Onnx, RefusesAnUnsupportedOpset) {
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    const auto e = dilute::testing::errorText([&] {
        io::OnnxOptions o;
        o.opset = 11;
        io::saveOnnx(*m, "/tmp/never.onnx", o);
    });
    EXPECT_NE(e.find("expected 17 or 13"), std::string::npos) << e;
}
#endif
