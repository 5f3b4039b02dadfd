// The deployment forms end to end (issue 31), for every golden family member (tests/data/golden,
// made by tests/reference/make_vit_golden.py) and pruned / diluted / folded models:
// `export --onnx` at opset 17 and 13, run in ONNX Runtime itself (the npm package
// onnxruntime-node, driven by tests/onnx/run_ort.js), batch 1, 2 and 8, every file through Debian's
// python3-onnx checker; `export --timm DIR` loaded by the folder's own dilute_vit.py in plain
// PyTorch (tests/onnx/run_timm_folder.py). Logits against PyTorch's (independent) and Dilute's.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "io/weights.h"
#include "run_cli.h"

namespace {
namespace fs = std::filesystem;
using dilute::testing::runCli;
using dilute::testing::runShell;

std::string golden(const std::string& f) { return std::string(DILUTE_SOURCE_DIR) + "/tests/data/golden/" + f; }
const std::string kOrtDir = DILUTE_ORT_DIR;
const fs::path kTmp = fs::temp_directory_path() / ("dilute-onnx-" + std::to_string(::getpid()));

bool haveOrt() { return fs::exists(kOrtDir + "/node_modules/onnxruntime-node/package.json"); }

torch::Tensor logitsOf(const std::string& file) {
    const auto t = dilute::io::readSafetensors(file);
    return t.tensors.front().second;
}

// ONNX Runtime's output on `input`.
torch::Tensor ort(const std::string& onnx, const std::string& input) {
    const std::string out = onnx + ".ort.safetensors";
    const auto r = runShell("ORT_DIR=" + kOrtDir + " node " + std::string(DILUTE_SOURCE_DIR) +
                            "/tests/onnx/run_ort.js " + onnx + " " + input + " " + out);
    EXPECT_EQ(r.rc, 0) << r.text;
    return logitsOf(out);
}

void expectClose(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
    ASSERT_EQ(got.sizes(), want.sizes()) << what;
    EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-5))
        << what << ": max |diff| " << (got - want).abs().max().item<float>();
}

struct Case {
    std::string name, model, args, pytorch;  // pytorch: the key of PyTorch's logits in logits.safetensors ("" none)
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }  // test names and failures show the case

class OnnxExport : public ::testing::TestWithParam<Case> {
public:
    static void SetUpTestSuite() {
        fs::create_directories(kTmp);
        torch::manual_seed(8);
        dilute::io::writeSafetensors((kTmp / "input8.safetensors").string(), {{"input", torch::randn({8, 3, 32, 32})}});
        const auto two = *dilute::io::readSafetensors(golden("input.safetensors")).find("input");
        dilute::io::writeSafetensors((kTmp / "input1.safetensors").string(), {{"input", two.narrow(0, 1, 1)}});
        // The same plain model diluted, pruned and folded, as training and export leave it.
        dilute::io::OpenOptions o;
        o.heads = 2;
        auto m = dilute::io::openModel(golden("plain.pth"), o);
        m->block(0)->setLambda(0.4);
        dilute::io::saveModel(*m, (kTmp / "diluted.safetensors").string());
        m = dilute::io::openModel(golden("plain.pth"), o);
        m->removeAttention({1}, false);
        dilute::io::saveModel(*m, (kTmp / "pruned.safetensors").string());
        m->fold();
        dilute::io::saveModel(*m, (kTmp / "folded.safetensors").string());
    }
    static void TearDownTestSuite() { fs::remove_all(kTmp); }
};

TEST_P(OnnxExport, RunsInOnnxRuntimeAndPyTorchWithTheSameLogits) {
    if (!haveOrt()) GTEST_SKIP() << "onnxruntime-node is not in " << kOrtDir << ": run packaging/install-ort.sh";
    const auto& c = GetParam();
    const std::string model = c.model.find('/') == std::string::npos ? (kTmp / c.model).string() : c.model;
    const std::string in2 = golden("input.safetensors"), in8 = (kTmp / "input8.safetensors").string(),
                      in1 = (kTmp / "input1.safetensors").string();
    // Dilute's own forward on the three batches.
    const auto own2 = (kTmp / (c.name + ".own2.safetensors")).string(),
               own8 = (kTmp / (c.name + ".own8.safetensors")).string(),
               own1 = (kTmp / (c.name + ".own1.safetensors")).string();
    for (const auto& [in, out] : {std::pair{in2, own2}, std::pair{in8, own8}, std::pair{in1, own1}}) {
        const auto r = runCli("eval -m " + model + c.args + " --input-tensor " + in + " --logits-out " + out);
        ASSERT_EQ(r.rc, 0) << r.text;
    }
    std::string files;
    for (int opset : {17, 13}) {
        SCOPED_TRACE("opset " + std::to_string(opset));
        const auto onnx = (kTmp / (c.name + "-" + std::to_string(opset) + ".onnx")).string();
        const auto r =
            runCli("export " + model + c.args + " --onnx " + onnx + " --onnx-opset " + std::to_string(opset));
        ASSERT_EQ(r.rc, 0) << r.text;
        files += " " + onnx;
        const auto y2 = ort(onnx, in2);
        expectClose(y2, logitsOf(own2), "batch 2 vs Dilute");
        if (!c.pytorch.empty())
            expectClose(y2, *dilute::io::readSafetensors(golden("logits.safetensors")).find(c.pytorch),
                        "batch 2 vs PyTorch");
        expectClose(ort(onnx, in8), logitsOf(own8), "batch 8 vs Dilute");
        expectClose(ort(onnx, in1), logitsOf(own1), "batch 1 vs Dilute");
    }
    // The timm folder, loaded by its own module in plain PyTorch.
    if (runShell("/usr/bin/python3 -c 'import torch'").rc == 0) {
        const auto dir = (kTmp / (c.name + "-timm")).string(), out = dir + ".logits.safetensors";
        auto r = runCli("export " + model + c.args + " --timm " + dir);
        ASSERT_EQ(r.rc, 0) << r.text;
        r = runShell("/usr/bin/python3 " + std::string(DILUTE_SOURCE_DIR) + "/tests/onnx/run_timm_folder.py " + dir +
                     " " + in2 + " " + out);
        ASSERT_EQ(r.rc, 0) << r.text;
        expectClose(logitsOf(out), logitsOf(own2), "timm folder vs Dilute");
        if (!c.pytorch.empty())
            expectClose(logitsOf(out), *dilute::io::readSafetensors(golden("logits.safetensors")).find(c.pytorch),
                        "timm folder vs PyTorch");
    }
    // ONNX's own checker, in Python (Debian's python3-onnx), when it is installed.
    if (runShell("/usr/bin/python3 -c 'import onnx'").rc == 0) {
        const auto chk = runShell(
            "/usr/bin/python3 -c 'import onnx, sys; [onnx.checker.check_model(onnx.load(f), full_check=True) "
            "for f in sys.argv[1:]]; print(\"checked\")'" +
            files);
        EXPECT_EQ(chk.rc, 0) << chk.text;
    }
}

INSTANTIATE_TEST_SUITE_P(Families, OnnxExport,
                         ::testing::Values(Case{"plain", golden("plain.pth"), " --heads 2", "plain_zip"},
                                           Case{"deit3_layerscale", golden("deit3_legacy.pth"), " --heads 2",
                                                "deit3_legacy"},
                                           Case{"distilled", golden("distilled_hub"), "", "distilled_hub"},
                                           Case{"registers_no_head", golden("reg_ema.pth"), " --heads 2", "reg_ema"},
                                           Case{"avg_qknorm_prenorm", golden("avg_ddp.pth"), " --heads 2", "avg_ddp"},
                                           Case{"hf_deit", golden("hf_deit"), "", "hf_deit"},
                                           Case{"torchvision", golden("torchvision.pth"), " --heads 2", "torchvision"},
                                           Case{"diluted_0_4", "diluted.safetensors", "", ""},
                                           Case{"pruned_unfolded", "pruned.safetensors", "", ""},
                                           Case{"pruned_folded", "folded.safetensors", "", ""}),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

// DIR/plain.safetensors (the golden plain model) and DIR/diluted0.safetensors (block `b` at lambda 0).
void writeDilutedToZero(const std::string& dir, int b) {
    dilute::io::OpenOptions o;
    o.heads = 2;
    auto m = dilute::io::openModel(golden("plain.pth"), o);
    dilute::io::saveModel(*m, dir + "/plain.safetensors");
    m->block(b)->setLambda(0.0);
    dilute::io::saveModel(*m, dir + "/diluted0.safetensors");
}

TEST(OnnxExportCli, PrunedExportWritesAllThreeFormsAndMetadata) {
    const auto d = kTmp.string() + "-meta";
    fs::create_directories(d);
    writeDilutedToZero(d, 1);
    const auto r = runCli("export " + d + "/diluted0.safetensors -o " + d + "/p.safetensors --torchscript " + d +
                          "/p.pt --onnx " + d + "/p.onnx");
    ASSERT_EQ(r.rc, 0) << r.text;
    EXPECT_NE(r.text.find("onnx          " + d + "/p.onnx (opset 17"), std::string::npos) << r.text;
    if (runShell("/usr/bin/python3 -c 'import onnx'").rc == 0) {
        const auto meta = runShell(
            "/usr/bin/python3 -c 'import onnx,sys; m=onnx.load(sys.argv[1]); "
            "print({p.key: p.value for p in m.metadata_props}[\"removed_blocks\"]); "
            "print([n.name for n in m.graph.node if n.name.startswith(\"blocks.1.attn\")])' " +
            d + "/p.onnx");
        EXPECT_NE(meta.text.find("[1]\n[]"), std::string::npos) << meta.text;  // block 1: no attention node at all
    }
    const auto bad = runCli("export " + golden("plain.pth") + " --heads 2 --onnx " + d + "/x.onnx --onnx-opset 11");
    EXPECT_NE(bad.rc, 0);
    fs::remove_all(d);
}

}  // namespace

namespace {
TEST(MeasureDeploy, WritesEveryFormAndRerunsIntoTheSameFolder) {
    const auto d = kTmp.string() + "-measure";
    fs::create_directories(d);
    writeDilutedToZero(d, 0);
    const std::string cmd = "measure -r " + d + "/diluted0.safetensors --baseline " + d +
                            "/plain.safetensors --eval-images 0 --repeats 1 --latency-runs 2 --rounds 1 --warmup 0";
    for (int run = 0; run < 2; ++run) {  // the second run replaces the first's files, timm/ included
        const auto r = runCli(cmd + " -o " + d + "/export");
        ASSERT_EQ(r.rc, 0) << r.text;
    }
    for (const char* f : {"pruned.safetensors", "pruned.pt", "measure.json", "timm/config.json", "timm/dilute_vit.py"})
        EXPECT_TRUE(fs::exists(d + "/export/" + f)) << f;
    EXPECT_EQ(fs::exists(d + "/export/pruned.onnx"), DILUTE_WITH_ONNX != 0);
    const auto noTimm = runCli(cmd + " --no-timm --no-onnx -o " + d + "/export2");
    ASSERT_EQ(noTimm.rc, 0) << noTimm.text;
    EXPECT_FALSE(fs::exists(d + "/export2/timm"));
    EXPECT_FALSE(fs::exists(d + "/export2/pruned.onnx"));
    fs::remove_all(d);
}
}  // namespace
