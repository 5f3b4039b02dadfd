// The CLI end to end: runs the built `dilute` binary like a user would.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "run_cli.h"

namespace {

using Out = dilute::testing::CliOut;
Out run(const std::string& args) { return dilute::testing::runCli(args); }

std::string tmpDir(const std::string& tag) {
    auto d = std::filesystem::temp_directory_path() / ("dilute-cli-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(d);
    return d.string();
}

bool haveFashion() { return std::filesystem::exists("/usr/share/datasets/fashion-mnist"); }

}  // namespace

TEST(Cli, HelpIsCompleteForEverySubcommand) {
    auto top = run("--help");
    EXPECT_EQ(top.rc, 0);
    for (const char* sub : {"info", "eval", "analyze", "train", "export", "bench", "measure", "demo"}) {
        EXPECT_NE(top.text.find(sub), std::string::npos) << sub;
        auto h = run(std::string(sub) + " --help");
        EXPECT_EQ(h.rc, 0) << sub;
        EXPECT_NE(h.text.find("--threads"), std::string::npos) << sub;
        EXPECT_NE(h.text.find("--verbose"), std::string::npos) << sub;
    }
    // Errors name the input and carry no LibTorch backtrace.
    auto bad = run("train -m vit_nano_patch7_28 --epochs 1000000000 -o /tmp/never-created");
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.text.find("--epochs"), std::string::npos) << bad.text;
    EXPECT_NE(bad.text.find("1000000000"), std::string::npos) << bad.text;
    EXPECT_EQ(bad.text.find("Exception raised from"), std::string::npos) << bad.text;
    EXPECT_NE(run("train --help").text.find("--decay-end"), std::string::npos);
    EXPECT_NE(run("analyze --help").text.find("--pairwise"), std::string::npos);
    // Defaults read as a user reads them: special values by their meaning, plain type names.
    for (const char* sub : {"train", "analyze", "study", "eval", "bench", "info"}) {
        const auto h = run(std::string(sub) + " --help").text;
        EXPECT_EQ(h.find("=-1"), std::string::npos) << sub << "\n" << h;
        EXPECT_EQ(h.find(":FLOAT"), std::string::npos) << sub << "\n" << h;
        EXPECT_NE(h.find("--img-size"), std::string::npos) << sub;
        EXPECT_NE(h.find("the model's own"), std::string::npos) << sub << "\n" << h;
    }
    EXPECT_NE(run("train --help").text.find("auto (3/4 of the run)"), std::string::npos);
}

TEST(Cli, InfoJsonForPresetAndClearErrors) {
    auto r = run("info --model deit_base_patch16_224 --json");
    ASSERT_EQ(r.rc, 0) << r.text;
    auto j = nlohmann::json::parse(r.text);
    EXPECT_EQ(j["params"], 86567656);
    EXPECT_EQ(j["blocks"].size(), 12u);
    auto bad = run("info --model /no/such/file.safetensors");
    EXPECT_EQ(bad.rc, 1);
    EXPECT_NE(bad.text.find("/no/such/file.safetensors: no such file"), std::string::npos) << bad.text;
    auto list = run("info --list");
    EXPECT_NE(list.text.find("vit_nano_patch7_28"), std::string::npos);
}

TEST(Cli, TrainAnalyzeExportBenchEndToEnd) {
    if (!haveFashion()) GTEST_SKIP();
    const auto d = tmpDir("e2e");
    auto t =
        run("train -m vit_nano_patch7_28 --epochs 1 --train-limit 512 --test-limit 256 --batch 64 -o " + d + "/base");
    ASSERT_EQ(t.rc, 0) << t.text;
    auto a = run("analyze -m " + d + "/base/final.safetensors --calib 128 --k 2 --pairwise -o " + d + "/an");
    ASSERT_EQ(a.rc, 0) << a.text;
    EXPECT_NE(a.text.find("selection (nose)"), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(d + "/an/analysis.json"));
    auto f = run("train -m " + d + "/base/final.safetensors --select " + d +
                 "/an --epochs 2 --train-limit 512 --test-limit 256 --batch 64 -o " + d + "/dil");
    ASSERT_EQ(f.rc, 0) << f.text;
    auto e = run("export " + d + "/dil -o " + d + "/pruned.safetensors --torchscript " + d + "/pruned.pt");
    ASSERT_EQ(e.rc, 0) << e.text;
    EXPECT_NE(e.text.find("removed"), std::string::npos);
    auto info = run("info -m " + d + "/pruned.safetensors --json");
    EXPECT_EQ(nlohmann::json::parse(info.text)["removed_blocks"].size(), 2u);
    auto ev = run("eval -m " + d + "/pruned.safetensors --limit 256 --json");
    ASSERT_EQ(ev.rc, 0) << ev.text;
    EXPECT_GT(nlohmann::json::parse(ev.text.substr(ev.text.find('{')))["top1"].get<double>(), 20.0);
    auto b = run("bench -m " + d + "/base --vs " + d +
                 "/pruned.safetensors --batch 16 --repeats 2 --latency-runs 3 --rounds 1 --json");
    ASSERT_EQ(b.rc, 0) << b.text;
    auto bj = nlohmann::json::parse(b.text.substr(b.text.find('{')));  // after the progress lines (stderr)
    EXPECT_LT(bj["b"]["params"].get<long long>(), bj["a"]["params"].get<long long>());
    // measure: the Export view's job (export, evaluate both, benchmark both) as one command.
    // A run stopped before its end: export takes its last checkpoint and says so.
    auto part = run("train -m " + d +
                    "/base/final.safetensors --select 0 --epochs 2 --train-limit 256 --test-limit 64 "
                    "--batch 64 --stop-at-step 2 -o " +
                    d + "/part");
    ASSERT_EQ(part.rc, 0) << part.text;
    auto pe = run("export " + d + "/part --force -o " + d + "/part.safetensors");
    EXPECT_EQ(pe.rc, 0) << pe.text;
    EXPECT_NE(pe.text.find("has no final.safetensors (the run did not finish): exported its last checkpoint"),
              std::string::npos)
        << pe.text;
    // A baseline of another input size is refused, naming both.
    auto other = run("measure -r " + d + "/dil --baseline vit_tiny_patch4_32 --eval-images 16 -o " + d + "/other");
    EXPECT_EQ(other.rc, 1) << other.text;
    EXPECT_NE(other.text.find("--baseline vit_tiny_patch4_32 (3x32x32 input, 10 classes) cannot be compared"),
              std::string::npos)
        << other.text;
    auto m = run("measure -r " + d + "/dil --baseline " + d +
                 "/base --eval-images 128 -b 8 --repeats 1 --latency-runs 2 "
                 "--rounds 1 --device cpu --json");
    ASSERT_EQ(m.rc, 0) << m.text;
    const auto mj = nlohmann::json::parse(m.text.substr(m.text.find('{')));
    EXPECT_EQ(mj["eval_images"], 128);
    EXPECT_EQ(mj["removed_blocks"].size(), 2u);
    EXPECT_EQ(mj["device"], "cpu");
    EXPECT_LT(mj["pruned_model"]["params"].get<long long>(), mj["full"]["params"].get<long long>());
    EXPECT_GT(mj["pruned_model"]["top1"].get<double>(), 15.0);  // well above chance (10%)
    EXPECT_GE(mj["full"]["top1"].get<double>(), 0.0);
    EXPECT_TRUE(std::filesystem::exists(d + "/dil/export/pruned.pt"));
    std::ifstream written(d + "/dil/export/measure.json");
    EXPECT_EQ(nlohmann::json::parse(written)["batch"], 8);
    auto missing = run("measure -r " + d + "/no-such-run");
    EXPECT_NE(missing.rc, 0);
    EXPECT_NE(missing.text.find("no-such-run"), std::string::npos) << missing.text;
    std::filesystem::remove_all(d);
}

TEST(Cli, DemoQuickReportHasEveryRow) {
    if (!haveFashion()) GTEST_SKIP();
    const auto d = tmpDir("demo");
    auto r = run("demo --quick --compare random -o " + d);
    ASSERT_EQ(r.rc, 0) << r.text;
    std::ifstream in(d + "/report.md");
    std::string md((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const char* row : {"baseline (trained from scratch)", "control (same fine-tuning, no block removed)",
                            "NOSE + dilution", "random + dilution", "| test top-1 (%), full = the control |",
                            "| parameters |", "| GMAC / image |", "| images/s", "| latency p50", "| latency p95",
                            "| weights", "| activations", "| memory: weights + activations"})
        EXPECT_NE(md.find(row), std::string::npos) << row;
    EXPECT_TRUE(std::filesystem::exists(d + "/pruned.pt"));
    // The control arm: the same fine-tuning run with no block diluted.
    std::ifstream cfg(d + "/control/config.json");
    const auto cj = nlohmann::json::parse(cfg);
    EXPECT_EQ(cj["resolved_selection"]["blocks"].size(), 0u);
    std::ifstream nose(d + "/nose/config.json");
    const auto nj = nlohmann::json::parse(nose);
    EXPECT_EQ(cj["epochs"], nj["epochs"]);
    EXPECT_EQ(cj["lr"], nj["lr"]);
    std::ifstream sum(d + "/summary.json");
    const auto sj = nlohmann::json::parse(sum);
    EXPECT_GT(sj["control_top1"].get<double>(), 0.0);
    // Fewer attention blocks never need more activation memory at the same batch.
    EXPECT_LE(sj["pruned"]["activation_mb"].get<double>(), sj["full"]["activation_mb"].get<double>());
    EXPECT_LT(sj["pruned"]["weights_mb"].get<double>(), sj["full"]["weights_mb"].get<double>());
    std::filesystem::remove_all(d);
}

namespace {
// A safetensors file with one F32 tensor, written by hand (the format: u64 header length, JSON, data).
void writeTensor(const std::string& path, const std::string& name, const std::vector<int64_t>& shape,
                 const std::vector<float>& values) {
    nlohmann::json h;
    h[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {0, values.size() * 4}}};
    const std::string header = h.dump();
    std::ofstream f(path, std::ios::binary);
    const uint64_t n = header.size();
    f.write(reinterpret_cast<const char*>(&n), 8);
    f.write(header.data(), std::streamsize(n));
    f.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size() * 4));
}
}  // namespace

TEST(Cli, EvalOnAGivenInputTensorWritesLogits) {
    const auto d = tmpDir("logits");
    std::filesystem::create_directories(d);
    std::vector<float> x(3 * 28 * 28);
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 17) / 17.0f - 0.5f;
    writeTensor(d + "/in.safetensors", "input", {3, 1, 28, 28}, x);
    auto r = run("eval -m vit_nano_patch7_28 --input-tensor " + d + "/in.safetensors --logits-out " + d +
                 "/out.safetensors");
    ASSERT_EQ(r.rc, 0) << r.text;
    std::ifstream f(d + "/out.safetensors", std::ios::binary);
    uint64_t n = 0;
    f.read(reinterpret_cast<char*>(&n), 8);
    std::string header(n, '\0');
    f.read(header.data(), std::streamsize(n));
    const auto h = nlohmann::json::parse(header);
    EXPECT_EQ(h["logits"]["shape"], nlohmann::json({3, 10}));
    // Deterministic: the same input gives the same bytes.
    auto again = run("eval -m vit_nano_patch7_28 --input-tensor " + d + "/in.safetensors --logits-out " + d +
                     "/out2.safetensors");
    ASSERT_EQ(again.rc, 0) << again.text;
    std::ifstream a(d + "/out.safetensors", std::ios::binary), b(d + "/out2.safetensors", std::ios::binary);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(a), {}), std::string(std::istreambuf_iterator<char>(b), {}));
    // A wrong shape is refused, naming the file and both shapes.
    writeTensor(d + "/bad.safetensors", "input", {2, 3, 28, 28}, std::vector<float>(2 * 3 * 28 * 28));
    auto bad =
        run("eval -m vit_nano_patch7_28 --input-tensor " + d + "/bad.safetensors --logits-out " + d + "/x.safetensors");
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.text.find("bad.safetensors: input tensor has shape [2,3,28,28]"), std::string::npos) << bad.text;
    // Bytes are not an input: a U8 tensor is refused, naming its type.
    {
        const std::string header = R"({"input":{"dtype":"U8","shape":[1,1,28,28],"data_offsets":[0,784]}})";
        std::ofstream f(d + "/u8.safetensors", std::ios::binary);
        const uint64_t n = header.size();
        f.write(reinterpret_cast<const char*>(&n), 8);
        f.write(header.data(), std::streamsize(n));
        f.write(std::string(784, '\x7f').data(), 784);
    }
    auto u8 =
        run("eval -m vit_nano_patch7_28 --input-tensor " + d + "/u8.safetensors --logits-out " + d + "/x.safetensors");
    EXPECT_EQ(u8.rc, 1) << u8.text;
    EXPECT_NE(u8.text.find("u8.safetensors: tensor 'input' holds Byte values; expected floating point"),
              std::string::npos)
        << u8.text;
    // NaN or Inf in the input: counted and refused, or run with a warning when allowed.
    x[5] = std::numeric_limits<float>::quiet_NaN();
    x[9] = std::numeric_limits<float>::infinity();
    writeTensor(d + "/nan.safetensors", "input", {3, 1, 28, 28}, x);
    auto nan =
        run("eval -m vit_nano_patch7_28 --input-tensor " + d + "/nan.safetensors --logits-out " + d + "/x.safetensors");
    EXPECT_EQ(nan.rc, 1) << nan.text;
    EXPECT_NE(nan.text.find("holds 2 NaN or infinite values"), std::string::npos) << nan.text;
    auto allowed = run("eval -m vit_nano_patch7_28 --allow-nonfinite --input-tensor " + d +
                       "/nan.safetensors --logits-out " + d + "/x.safetensors");
    EXPECT_EQ(allowed.rc, 0) << allowed.text;
    EXPECT_NE(allowed.text.find("warning:"), std::string::npos) << allowed.text;
    std::filesystem::remove_all(d);
}
