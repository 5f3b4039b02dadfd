// Checkpoint sets: atomic switch, checksums, cleaning, range checks, legacy runs, free space,
// and an interrupted evaluation that still leaves a resumable run.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/test_util.h"
#include "io/checkpoint.h"
#include "io/weights.h"
#include "train/metrics.h"
#include "train/trainer.h"
#include "util/durable.h"
#include "util/error.h"
#include "util/files.h"

using namespace dilute;
using dilute::testing::errorText;
using dilute::testing::TempDir;
namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

struct Fixture {
    model::VisionTransformer m = io::openModel("vit_nano_patch7_28");
    std::unique_ptr<torch::optim::AdamW> opt;
    Fixture() {
        opt = std::make_unique<torch::optim::AdamW>(m->parameters(), torch::optim::AdamWOptions(1e-3));
        auto loss = m->forward(torch::randn({2, 1, 28, 28})).square().mean();
        loss.backward();
        opt->step();  // the optimizer has moments to save
    }
};

io::CheckpointState stateAt(long long step, int epoch) {
    io::CheckpointState st;
    st.epoch = epoch;
    st.step = step;
    st.best_top1 = 42.5;
    st.blocks = {1, 3};
    st.selector = "nose";
    st.lambdas = {0.5, 0.5};
    return st;
}

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : stdfs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

void editManifest(const std::string& path, const std::function<void(json&)>& edit) {
    auto j = json::parse(fs::readText(path));
    edit(j);
    fs::atomicWriteText(path, j.dump(2));
}

}  // namespace

TEST(Checkpoint, ASetIsSwitchedInWholeAndOnlyNamedSetsRemain) {
    TempDir d("ckset");
    Fixture f;
    const auto ck = d.file("checkpoints");
    io::saveCheckpoint(ck, {"last", "best"}, *f.m, f.opt.get(), stateAt(10, 1));
    io::saveCheckpoint(ck, {"last"}, *f.m, f.opt.get(), stateAt(20, 2));
    // best still names step 10 (weights only, the optimizer state there is gone), last names step 20.
    EXPECT_EQ(entries(ck), (std::vector<std::string>{"best.json", "last.json", "step-000000010", "step-000000020"}));
    EXPECT_EQ(entries(ck + "/step-000000010"), (std::vector<std::string>{"model.safetensors"}));
    EXPECT_EQ(entries(ck + "/step-000000020"), (std::vector<std::string>{"model.safetensors", "optim.pt"}));
    auto st = io::readCheckpointState(ck, "last");
    EXPECT_EQ(st.step, 20);
    EXPECT_EQ(st.blocks, (std::vector<int>{1, 3}));
    // A newer best frees the old set entirely; saving twice at one step never reuses a named folder.
    io::saveCheckpoint(ck, {"last", "best"}, *f.m, f.opt.get(), stateAt(20, 2));
    EXPECT_EQ(entries(ck), (std::vector<std::string>{"best.json", "last.json", "step-000000020.2"}));
    auto m2 = io::openModel("vit_nano_patch7_28", {});
    torch::optim::AdamW o2(m2->parameters(), torch::optim::AdamWOptions(1e-3));
    io::loadCheckpoint(ck, "last", *m2, &o2, io::readCheckpointState(ck, "last"));
    auto a = f.m->named_parameters(), b = m2->named_parameters();
    for (const auto& it : a) EXPECT_TRUE(torch::equal(it.value(), b[it.key()])) << it.key();
    EXPECT_THROW(io::loadCheckpoint(ck, "best", *m2, &o2, io::readCheckpointState(ck, "best")), Error);  // no optimizer
}

TEST(Checkpoint, AFlippedByteOrATruncationIsCaughtByTheChecksum) {
    TempDir d("ckcrc");
    Fixture f;
    const auto ck = d.file("checkpoints");
    io::saveCheckpoint(ck, {"last"}, *f.m, f.opt.get(), stateAt(7, 0));
    const auto st = io::readCheckpointState(ck, "last");
    for (const char* name : {"model.safetensors", "optim.pt"}) {
        const auto path = ck + "/step-000000007/" + name;
        auto bytes = dilute::testing::readBytes(path);
        const auto saved = bytes;
        bytes[bytes.size() - 100] ^= 0x10;  // inside the data, not the header
        dilute::testing::writeBytes(path, bytes);
        auto msg = errorText([&] { io::loadCheckpoint(ck, "last", *f.m, f.opt.get(), st); });
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        EXPECT_NE(msg.find("checksum"), std::string::npos) << msg;
        bytes.resize(bytes.size() / 2);
        dilute::testing::writeBytes(path, bytes);
        msg = errorText([&] { io::loadCheckpoint(ck, "last", *f.m, f.opt.get(), st); });
        EXPECT_NE(msg.find("bytes where"), std::string::npos) << msg;
        dilute::testing::writeBytes(path, saved);
    }
    EXPECT_NO_THROW(io::loadCheckpoint(ck, "last", *f.m, f.opt.get(), st));
}

TEST(Checkpoint, StaleTempFoldersAndOrphanSetsAreCleanedButNothingOnAGuess) {
    TempDir d("ckclean");
    Fixture f;
    const auto ck = d.file("checkpoints");
    io::saveCheckpoint(ck, {"last"}, *f.m, f.opt.get(), stateAt(5, 0));
    // What a kill -9 leaves: a half-written temp set, a whole set no manifest names yet, a temp manifest.
    dilute::testing::writeBytes(ck + "/.tmp-step-000000010-999/model.safetensors", {1, 2, 3});
    dilute::testing::writeBytes(ck + "/step-000000010/model.safetensors", {1, 2, 3});
    dilute::testing::writeBytes(ck + "/last.json.tmp.999.0", {'{'});
    const auto orphans = entries(ck);
    // A damaged manifest: nothing may be deleted.
    const auto good = fs::readText(ck + "/last.json");
    fs::atomicWriteText(ck + "/last.json", "{\"format\": \"dilute-checkpoint/2\", \"set\": ");
    io::cleanCheckpoints(ck);
    EXPECT_EQ(entries(ck), orphans);
    EXPECT_NE(errorText([&] { io::readCheckpointState(ck, "last"); }).find(ck + "/last.json: damaged"),
              std::string::npos);
    fs::atomicWriteText(ck + "/last.json", good);
    io::cleanCheckpoints(ck);
    EXPECT_EQ(entries(ck), (std::vector<std::string>{"last.json", "step-000000005"}));
}

TEST(Checkpoint, AbsurdStateIsRefusedNamingTheFieldAndTheFile) {
    TempDir d("ckrange");
    Fixture f;
    const auto ck = d.file("checkpoints");
    io::saveCheckpoint(ck, {"last"}, *f.m, f.opt.get(), stateAt(15, 1));
    const auto man = ck + "/last.json";
    const auto good = fs::readText(man);
    struct Case {
        const char* expect;
        std::function<void(json&)> edit;
    };
    const std::vector<Case> cases = {
        {"epoch -3", [](json& j) { j["epoch"] = -3; }},
        {"epoch 2000000000", [](json& j) { j["epoch"] = 2000000000; }},
        {"step -1", [](json& j) { j["step"] = -1; }},
        {"lambda",
         [](json& j) {
             j["lambdas"] = {0.5, 7.0};
         }},
        {"2 lambdas for 3 blocks",
         [](json& j) {
             j["blocks"] = {1, 2, 3};
         }},
        {"repeated",
         [](json& j) {
             j["blocks"] = {2, 2};
         }},
        {"best_top1", [](json& j) { j["best_top1"] = 250.0; }},
        {"not a step folder", [](json& j) { j["set"] = "../../etc"; }},
        {"crc32", [](json& j) { j["files"]["model.safetensors"]["crc32"] = "xyz"; }},
        {"newer Dilute", [](json& j) { j["format"] = "dilute-checkpoint/9"; }},
        {"must be numbers", [](json& j) { j["epoch"] = "three"; }},
        {"no field 'lambdas'", [](json& j) { j.erase("lambdas"); }},
        {"unknown key 'lamdbas' (did you mean 'lambdas'?)", [](json& j) { j["lamdbas"] = {0.5}; }},
        {"files: unknown key 'model.pt'", [](json& j) { j["files"]["model.pt"] = j["files"]["model.safetensors"]; }},
        {"files.model.safetensors: unknown key 'crc'",
         [](json& j) { j["files"]["model.safetensors"]["crc"] = "00000000"; }},
    };
    for (const auto& c : cases) {
        fs::atomicWriteText(man, good);
        editManifest(man, c.edit);
        const auto msg = errorText([&] { io::readCheckpointState(ck, "last"); });
        EXPECT_NE(msg.find(man), std::string::npos) << c.expect << ": " << msg;
        EXPECT_NE(msg.find(c.expect), std::string::npos) << c.expect << ": " << msg;
    }
    fs::atomicWriteText(man, good);
    const auto st = io::readCheckpointState(ck, "last");
    EXPECT_NO_THROW(io::checkStateFitsRun(st, man, 3, 10, 6));
    EXPECT_NE(errorText([&] { io::checkStateFitsRun(st, man, 1, 10, 6); }).find("step 15 is past the run's 10 steps"),
              std::string::npos);
    auto late = st;
    late.epoch = 5;
    EXPECT_NE(errorText([&] { io::checkStateFitsRun(late, man, 3, 10, 6); }).find("epoch 5 is past the run's 3 epochs"),
              std::string::npos);
    EXPECT_NE(errorText([&] { io::checkStateFitsRun(st, man, 3, 5, 6); }).find("not within epoch 2"),
              std::string::npos);
    EXPECT_NE(errorText([&] { io::checkStateFitsRun(st, man, 3, 10, 2); }).find("block 3 does not exist"),
              std::string::npos);
}

TEST(Checkpoint, ARunFolderFromBeforeSetsStillReads) {
    TempDir d("cklegacy");
    Fixture f;
    const auto ck = d.file("checkpoints");
    fs::makeDirs(ck);
    io::saveModel(*f.m, ck + "/last.safetensors", {{"dilute.step", "12"}});
    torch::save(*f.opt, ck + "/last.optim.pt");
    fs::atomicWriteText(ck + "/last.json", R"({"epoch":1,"step":12,"best_top1":-1,"blocks":[2],"selector":"manual",
                                              "lambdas":[0.25],"has_optimizer":true})");
    EXPECT_EQ(io::checkpointWeights(ck, "last"), ck + "/last.safetensors");
    const auto st = io::readCheckpointState(ck, "last");
    EXPECT_EQ(st.step, 12);
    {  // its own keys only: a key of the set format in a manifest without "format" is damage
        const auto legacy = fs::readText(ck + "/last.json");
        fs::atomicWriteText(ck + "/last.json", legacy.substr(0, legacy.rfind('}')) + R"(, "set": "step-000000012"})");
        EXPECT_NE(errorText([&] { io::readCheckpointState(ck, "last"); }).find("unknown key 'set'"), std::string::npos);
        fs::atomicWriteText(ck + "/last.json", legacy);
    }
    EXPECT_NO_THROW(io::loadCheckpoint(ck, "last", *f.m, f.opt.get(), st));
    io::cleanCheckpoints(ck);  // the legacy files are named by last.json: kept
    EXPECT_TRUE(fs::exists(ck + "/last.safetensors"));
    io::saveCheckpoint(ck, {"last"}, *f.m, f.opt.get(), stateAt(20, 2));  // the first set replaces them
    EXPECT_EQ(entries(ck), (std::vector<std::string>{"last.json", "step-000000020"}));
}

TEST(Checkpoint, FreeSpaceIsCheckedWithBothNumbers) {
    TempDir d("ckspace");
    EXPECT_GT(fs::freeBytes(d.path()), 0u);
    EXPECT_NO_THROW(fs::requireFreeSpace(d.path(), 1, "a byte"));
    const auto msg = errorText([&] { fs::requireFreeSpace(d.path(), uint64_t(1) << 62, "two checkpoints"); });
    EXPECT_NE(msg.find(d.path() + ": not enough free space: two checkpoints needs about 4.6 EB"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("free"), std::string::npos) << msg;
    EXPECT_EQ(fs::formatBytes(999), "999 bytes");
    EXPECT_EQ(fs::formatBytes(1500000), "1.5 MB");
}

TEST(Checkpoint, CtrlCDuringEvaluationWritesACheckpointThatResumesIntoThatEvaluation) {
    if (!dilute::testing::fashionMnistInstalled()) GTEST_SKIP();
    TempDir a("ckevalfull"), b("ckevalstop");
    auto opts = [](const std::string& dir) {
        train::TrainOptions o;
        o.model = "vit_nano_patch7_28";
        o.data = "fashion-mnist";
        o.out_dir = dir;
        o.epochs = 2;
        o.batch = 64;
        o.train_limit = 320;
        o.test_limit = 512;
        o.workers = 1;
        o.device = "cpu";
        o.select = "2";
        return o;
    };
    train::train(opts(a.path()));
    CancelToken cancel;
    train::TrainObserver obs;
    obs.progress = [&](const Progress& p) {
        if (p.phase == "eval" && p.done == 1) cancel.cancel();  // during the first epoch's evaluation
    };
    EXPECT_THROW(train::train(opts(b.path()), obs, &cancel), Cancelled);
    const auto st = io::readCheckpointState(b.file("checkpoints"), "last");
    EXPECT_EQ(st.step, 5);   // all of epoch 1's steps
    EXPECT_EQ(st.epoch, 0);  // but epoch 1 is not finished: its evaluation is owed
    train::resume(b.path());
    auto epochs = [](const std::string& metrics) {
        std::vector<train::EpochEvent> out;
        for (const auto& e : train::readMetrics(metrics))
            if (e.kind == train::MetricsEvent::Kind::Epoch) out.push_back(e.epoch);
        return out;
    };
    const auto ea = epochs(a.file("metrics.jsonl")), eb = epochs(b.file("metrics.jsonl"));
    ASSERT_EQ(ea.size(), 2u);
    ASSERT_EQ(eb.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_NEAR(ea[i].test_top1, eb[i].test_top1, 1e-9) << i;
        EXPECT_NEAR(ea[i].train_loss, eb[i].train_loss, 1e-5) << i;  // epoch 1's loss comes from the log
    }
}
