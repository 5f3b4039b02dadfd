// Data-parallel training end to end: the real `dilute` binary on 1 and 2 processes over
// 127.0.0.1 (c10d TCPStore + Gloo), launched by --nproc and by torchrun's variables set by hand.
// Every command runs under `timeout`, so a hang fails the test instead of blocking CI.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "../run_cli.h"
#include "dist/env.h"
#include "io/safetensors.h"

namespace fsys = std::filesystem;
using json = nlohmann::json;

namespace {

using Out = dilute::testing::CliOut;
Out run(const std::string& args, const std::string& env = "", int limit = 300) {
    return dilute::testing::runCli(args, env + " timeout -s KILL " + std::to_string(limit));
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<json> events(const std::string& runDir, const std::string& kind) {
    std::vector<json> out;
    std::ifstream in(runDir + "/metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        auto j = json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.value("event", "") == kind) out.push_back(j);
    }
    return out;
}

struct WeightDiff {
    double max_abs = 0;  // largest element difference
    double rel_l2 = 0;   // ||a - b|| / ||a|| over all weights
};

WeightDiff weightDiff(const std::string& a, const std::string& b) {
    auto fa = dilute::io::readSafetensors(a), fb = dilute::io::readSafetensors(b);
    EXPECT_EQ(fa.tensors.size(), fb.tensors.size());
    WeightDiff d;
    double num = 0, den = 0;
    for (const auto& [name, t] : fa.tensors) {
        const auto* u = fb.find(name);
        if (!u) {
            ADD_FAILURE() << name << " missing in " << b;
            continue;
        }
        const auto diff = (t.to(torch::kDouble) - u->to(torch::kDouble));
        d.max_abs = std::max(d.max_abs, diff.abs().max().item<double>());
        num += diff.pow(2).sum().item<double>();
        den += t.to(torch::kDouble).pow(2).sum().item<double>();
    }
    d.rel_l2 = den > 0 ? std::sqrt(num / den) : 0;
    return d;
}

// The documented tolerance for "equal weights". The same global batch split over two processes
// sums its gradients in another order (float32), and AdamW divides by sqrt(v): for parameters
// whose gradients are near zero that turns rounding into a visible fraction of one lr step. The
// machine's own noise floor, measured: ONE process at 1 vs 2 threads, 20 steps of this job,
// differs by 7.9e-5 max-abs and 5.2e-6 relative L2. So: relative L2 <= 1e-5 over all weights,
// and no single weight further apart than 2e-4 (a few percent of one step at lr 2e-3).
void expectEqualWeights(const std::string& a, const std::string& b) {
    const auto d = weightDiff(a, b);
    EXPECT_LE(d.rel_l2, 1e-5) << a << " vs " << b << " (max abs " << d.max_abs << ")";
    EXPECT_LE(d.max_abs, 2e-4) << a << " vs " << b << " (relative L2 " << d.rel_l2 << ")";
    std::printf("weights %s vs %s: relative L2 %.3g, max abs %.3g\n", a.c_str(), b.c_str(), d.rel_l2, d.max_abs);
}

std::set<std::string> entries(const std::string& dir) {
    std::set<std::string> s;
    for (const auto& e : fsys::directory_iterator(dir)) s.insert(e.path().filename().string());
    return s;
}

bool waitFor(const std::function<bool()>& cond, int seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < end) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return cond();
}

class TrainDist : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fsys::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "Fashion-MNIST is not installed";
        dir_ = (fsys::temp_directory_path() / ("dilute-dist-" + std::to_string(::getpid()))).string();
        fsys::remove_all(dir_);
        fsys::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty()) fsys::remove_all(dir_);
    }
    std::string at(const std::string& name) const { return dir_ + "/" + name; }
    // 20 steps of 128 images (per epoch); drop-path and mixup off unless a test turns them on.
    // Blocks 1 and 3 are diluted and reach lambda 0 at step 10: from there their attention is
    // not computed and its parameters leave the gradient buckets, on every rank at once.
    static std::string common(const std::string& extra = "", const std::string& dropPath = "0", int epochs = 1) {
        return "train -m vit_nano_patch7_28 -e " + std::to_string(epochs) + " --train-limit 2560 --drop-path " +
               dropPath + " --mixup 0 --cutmix 0 --seed 5 --workers 1 --warmup 0.25 --select 1,3 --decay-end " +
               std::to_string(0.5 * epochs) + " " + extra;
    }
    std::string dir_;
};

constexpr double kLossTol = 1e-5;  // per-step loss, absolute

}  // namespace

TEST_F(TrainDist, TwoProcessesOfBatch64EqualOneProcessOfBatch128) {
    auto a = run(common("-b 128 --threads 2 -o " + at("one")));
    ASSERT_EQ(a.rc, 0) << a.text;
    auto b = run(common("-b 64 --nproc 2 -o " + at("two")));
    ASSERT_EQ(b.rc, 0) << b.text;
    EXPECT_NE(
        b.text.find("[rank 0] data-parallel: 2 processes (gloo, torchrun), batch 64 per process, global batch 128"),
        std::string::npos)
        << b.text;
    const auto sa = events(at("one"), "step"), sb = events(at("two"), "step");
    ASSERT_EQ(sa.size(), 20u);
    ASSERT_EQ(sb.size(), 20u);
    EXPECT_EQ(sb.back()["lambda"][0], 0.0);  // fully diluted at the end (from about step 10)
    EXPECT_GT(sb[5]["lambda"][0].get<double>(), 0.0);
    for (size_t i = 0; i < sa.size(); ++i)
        EXPECT_NEAR(sa[i]["loss"].get<double>(), sb[i]["loss"].get<double>(), kLossTol) << "step " << i + 1;
    expectEqualWeights(at("one/final.safetensors"), at("two/final.safetensors"));
    // Evaluation over the two shards counts each of the 10,000 test images exactly once.
    const auto ea = events(at("one"), "epoch"), eb = events(at("two"), "epoch");
    ASSERT_EQ(eb.size(), 1u);
    EXPECT_EQ(ea[0]["test_images"], 10000);
    EXPECT_EQ(eb[0]["test_images"], 10000);
    EXPECT_NEAR(ea[0]["test_top1"].get<double>(), eb[0]["test_top1"].get<double>(), 0.02);
    // Rank 0 alone wrote the run folder: the same files as the single-process run.
    EXPECT_EQ(entries(at("one")), entries(at("two")));
    auto cfg = json::parse(slurp(at("two/config.json")));
    EXPECT_EQ(cfg["distributed"]["world_size"], 2);
    EXPECT_EQ(cfg["distributed"]["global_batch"], 128);
    EXPECT_EQ(cfg["global_batch"], 128);
    EXPECT_EQ(events(at("two"), "end").back()["status"], "finished");

    // The same job launched by hand with torchrun's variables (no Python, no launcher).
    const int port = dilute::dist::freeLocalPort();
    const std::string base =
        "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 ";
    const std::string cmd1 = "RANK=1 LOCAL_RANK=1 " + base + " timeout -s KILL 300 " + DILUTE_CLI + " " +
                             common("-b 64 --threads 1 -o " + at("hand")) + " > " + at("rank1.log") +
                             " 2>&1; echo $? > " + at("rank1.rc");
    ASSERT_EQ(std::system(("(" + cmd1 + ") &").c_str()), 0);
    auto h = run(common("-b 64 --threads 1 -o " + at("hand")), "RANK=0 LOCAL_RANK=0 " + base);
    ASSERT_EQ(h.rc, 0) << h.text << "\nrank 1:\n" << slurp(at("rank1.log"));
    ASSERT_TRUE(waitFor([&] { return !slurp(at("rank1.rc")).empty(); }, 30));
    EXPECT_EQ(std::stoi(slurp(at("rank1.rc"))), 0) << slurp(at("rank1.log"));
    EXPECT_EQ(slurp(at("rank1.log")), "");  // other ranks are quiet: rank 0 reports for the job
    expectEqualWeights(at("two/final.safetensors"), at("hand/final.safetensors"));
    EXPECT_EQ(entries(at("two")), entries(at("hand")));
}

TEST_F(TrainDist, ResumeATwoProcessRunWithOneProcess) {
    auto a = run(common("-b 128 --threads 2 -o " + at("one")));
    ASSERT_EQ(a.rc, 0) << a.text;
    auto b = run(common("-b 64 --nproc 2 --stop-at-step 7 -o " + at("two")));
    ASSERT_EQ(b.rc, 0) << b.text;
    EXPECT_NE(b.text.find("stopped after step 7"), std::string::npos) << b.text;
    EXPECT_EQ(events(at("two"), "step").size(), 7u);
    EXPECT_EQ(events(at("two"), "end").back()["status"], "cancelled");
    auto r = run("train --resume " + at("two") + " --threads 2");
    ASSERT_EQ(r.rc, 0) << r.text;
    const auto sa = events(at("one"), "step"), sr = events(at("two"), "step");
    ASSERT_EQ(sr.size(), 20u);
    for (size_t i = 0; i < sa.size(); ++i)
        EXPECT_NEAR(sa[i]["loss"].get<double>(), sr[i]["loss"].get<double>(), kLossTol) << "step " << i + 1;
    expectEqualWeights(at("one/final.safetensors"), at("two/final.safetensors"));
}

TEST_F(TrainDist, ResumeAOneProcessRunWithTwoProcesses) {
    auto a = run(common("-b 128 --threads 2 -o " + at("one")));
    ASSERT_EQ(a.rc, 0) << a.text;
    auto b = run(common("-b 128 --threads 2 --stop-at-step 7 -o " + at("single")));
    ASSERT_EQ(b.rc, 0) << b.text;
    // As written before data-parallel training existed: no global batch recorded.
    auto cfg = json::parse(slurp(at("single/config.json")));
    cfg.erase("global_batch");
    std::ofstream(at("single/config.json")) << cfg.dump(2);
    auto r = run("train --resume " + at("single") + " --nproc 2");
    ASSERT_EQ(r.rc, 0) << r.text;
    EXPECT_NE(r.text.find("global batch 128"), std::string::npos) << r.text;
    const auto sa = events(at("one"), "step"), sr = events(at("single"), "step");
    ASSERT_EQ(sr.size(), 20u);
    for (size_t i = 0; i < sa.size(); ++i)
        EXPECT_NEAR(sa[i]["loss"].get<double>(), sr[i]["loss"].get<double>(), kLossTol) << "step " << i + 1;
    expectEqualWeights(at("one/final.safetensors"), at("single/final.safetensors"));
}

TEST_F(TrainDist, DropPathRunsCompleteAndAgreeInDistribution) {
    // With drop-path each rank draws its own masks, so the runs differ step by step; what must
    // hold is the distribution: the mean loss of steps 11-20 within 5% of the single process's.
    auto a = run(common("-b 128 --threads 2 -o " + at("one"), "0.1"));
    ASSERT_EQ(a.rc, 0) << a.text;
    auto b = run(common("-b 64 --nproc 2 -o " + at("two"), "0.1"));
    ASSERT_EQ(b.rc, 0) << b.text;
    auto meanLate = [&](const std::string& d) {
        const auto s = events(d, "step");
        double m = 0;
        for (size_t i = 10; i < s.size(); ++i) m += s[i]["loss"].get<double>();
        return m / double(s.size() - 10);
    };
    const double ma = meanLate(at("one")), mb = meanLate(at("two"));
    EXPECT_TRUE(std::isfinite(mb));
    EXPECT_LT(std::abs(ma - mb), 0.05 * ma) << ma << " vs " << mb;
}

TEST_F(TrainDist, AKilledWorkerStopsTheOthersAndIsNamed) {
    const std::string cmd = "timeout -s KILL 300 " + std::string(DILUTE_CLI) + " " +
                            common("-b 64 --nproc 2 --dist-timeout 60 -o " + at("k"), "0", 20) + " > " + at("k.log") +
                            " 2>&1; echo $? > " + at("k.rc");
    ASSERT_EQ(std::system(("(" + cmd + ") &").c_str()), 0);
    std::smatch m;
    std::string log;
    ASSERT_TRUE(waitFor(
        [&] {
            log = slurp(at("k.log"));
            return std::regex_search(log, m, std::regex("pids ([0-9]+) ([0-9]+)"));
        },
        60))
        << log;
    const std::string rank1Pid = m[2].str();  // m points into `log`, which is reassigned below
    const pid_t rank1 = std::stoi(rank1Pid);
    ASSERT_TRUE(waitFor([&] { return events(at("k"), "step").size() >= 3; }, 120)) << slurp(at("k.log"));
    ASSERT_EQ(::kill(rank1, SIGKILL), 0);
    const auto killed = std::chrono::steady_clock::now();
    ASSERT_TRUE(waitFor([&] { return !slurp(at("k.rc")).empty(); }, 60)) << "the job did not stop\n"
                                                                         << slurp(at("k.log"));
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
    log = slurp(at("k.log"));
    EXPECT_NE(std::stoi(slurp(at("k.rc"))), 0) << log;
    EXPECT_NE(log.find("rank 1 (pid " + rank1Pid + ") was killed by signal 9"), std::string::npos) << log;
    EXPECT_LT(took, 30.0) << log;
}
