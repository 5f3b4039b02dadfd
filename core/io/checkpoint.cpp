#include "io/checkpoint.h"

#include <torch/serialize.h>
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "io/weights.h"
#include "util/durable.h"
#include "util/error.h"
#include "util/files.h"
#include "util/json_num.h"
#include "util/runtime.h"

namespace dilute::io {
using json = nlohmann::json;
namespace stdfs = std::filesystem;

namespace {

constexpr const char* kFormat = "dilute-checkpoint/2";
constexpr const char* kModel = "model.safetensors";
constexpr const char* kOptim = "optim.pt";
constexpr const char* kPointers[] = {"last", "best"};

/// Fault injection for the crash tests: DILUTE_CRASH_POINT=NAME[:K] ends the process like a
/// kill -9 at the K-th (default first) time the checkpoint writer passes point NAME.
void crashPoint(const char* name) {
    static std::map<std::string, int> hits;
    const char* env = std::getenv("DILUTE_CRASH_POINT");
    if (!env) return;
    std::string spec(env);
    int k = 1;
    if (auto c = spec.find(':'); c != std::string::npos) {
        k = std::atoi(spec.c_str() + c + 1);
        spec.resize(c);
    }
    if (spec == name && ++hits[spec] == k) std::_Exit(137);
}

std::string hex32(uint32_t v) {
    char b[9];
    std::snprintf(b, sizeof b, "%08x", v);
    return b;
}

/// A manifest as read: where its files are and what they must be.
struct Manifest {
    std::string path;
    bool legacy = false;  // pre-set layout: NAME.safetensors beside NAME.json, no checksums
    std::string set;      // folder name under DIR (sets only)
    struct File {
        std::string path;
        bool checked = false;
        uint64_t bytes = 0;
        uint32_t crc32 = 0;
    };
    File model, optim;
    bool has_optimizer = false;
    json state;
};

std::string freeSetName(const std::string& dir, long long step) {
    char base[32];
    std::snprintf(base, sizeof base, "step-%09lld", step);
    std::string name = base;
    for (int i = 2; fs::exists(fs::join(dir, name)); ++i) name = std::string(base) + "." + std::to_string(i);
    return name;
}

Manifest readManifest(const std::string& dir, const std::string& name) {
    Manifest m;
    m.path = fs::join(dir, name + ".json");
    if (!fs::exists(m.path)) throw Error(m.path + ": no checkpoint (was the run started?)");
    try {
        m.state = json::parse(fs::readText(m.path));
        if (!m.state.is_object()) throw Error(m.path + ": damaged checkpoint manifest (not a JSON object)");
        m.has_optimizer = m.state.value("has_optimizer", false);
        if (!m.state.contains("format")) {
            m.legacy = true;
            m.model.path = fs::join(dir, name + ".safetensors");
            m.optim.path = fs::join(dir, name + ".optim.pt");
            return m;
        }
        if (m.state.at("format") != kFormat)
            throw Error(m.path + ": checkpoint format " + m.state.at("format").dump() + " is not " + kFormat +
                        " (written by a newer Dilute?)");
        m.set = m.state.at("set").get<std::string>();
        if (m.set.rfind("step-", 0) != 0 || m.set.find('/') != std::string::npos ||
            m.set.find("..") != std::string::npos)
            throw Error(m.path + ": damaged checkpoint manifest (set '" + m.set + "' is not a step folder)");
        const auto& files = m.state.at("files");
        auto file = [&](const char* fname, Manifest::File& f) {
            f.path = fs::join(fs::join(dir, m.set), fname);
            if (!files.contains(fname)) return false;
            const auto& e = files.at(fname);
            f.checked = true;
            f.bytes = jsonnum::at<uint64_t>(e, "bytes");
            const std::string crc = e.at("crc32").get<std::string>();
            if (crc.size() != 8 || crc.find_first_not_of("0123456789abcdef") != std::string::npos)
                throw Error(m.path + ": damaged checkpoint manifest (crc32 of " + fname + " is '" + crc + "')");
            f.crc32 = static_cast<uint32_t>(std::stoul(crc, nullptr, 16));
            return true;
        };
        if (!file(kModel, m.model)) throw Error(m.path + ": damaged checkpoint manifest (no " + kModel + " listed)");
        if (file(kOptim, m.optim) != m.has_optimizer)
            throw Error(m.path + ": damaged checkpoint manifest (has_optimizer disagrees with the files listed)");
    } catch (const json::exception& e) {
        throw Error(m.path + ": damaged checkpoint manifest (" + jsonnum::message(e) + ")");
    }
    return m;
}

void verify(const Manifest::File& f, const std::string& manifest) {
    if (!fs::exists(f.path))
        throw Error(f.path + ": missing (named by " + manifest + "); the checkpoint is incomplete");
    if (!f.checked) return;
    const auto d = fs::digestFile(f.path);
    if (d.bytes != f.bytes)
        throw Error(f.path + ": " + std::to_string(d.bytes) + " bytes where " + manifest + " recorded " +
                    std::to_string(f.bytes) + "; the checkpoint was damaged after it was written");
    if (d.crc32 != f.crc32)
        throw Error(f.path + ": checksum " + hex32(d.crc32) + " does not match " + hex32(f.crc32) + " recorded in " +
                    manifest + "; the checkpoint was damaged after it was written");
}

}  // namespace

void saveCheckpoint(const std::string& dir, const std::vector<std::string>& pointers, model::VisionTransformerImpl& m,
                    torch::optim::Optimizer* opt, const CheckpointState& st) {
    fs::makeDirs(dir);
    const std::string set = freeSetName(dir, st.step);
    const std::string tmp = fs::join(dir, ".tmp-" + set + "-" + std::to_string(::getpid()));
    std::error_code ec;
    stdfs::remove_all(tmp, ec);
    fs::makeDirs(tmp);
    json files;
    try {
        const std::string model = fs::join(tmp, kModel);
        saveModel(m, model, {{"dilute.step", std::to_string(st.step)}});  // written and flushed
        crashPoint("set-partial");
        auto d = fs::digestFile(model);
        files[kModel] = {{"bytes", d.bytes}, {"crc32", hex32(d.crc32)}};
        if (opt) {
            const std::string op = fs::join(tmp, kOptim);
            try {
                torch::save(*opt, op);
            } catch (const c10::Error& e) {
                throw Error(op + ": cannot write optimizer state (" + e.what_without_backtrace() + ")");
            }
            fs::syncFile(op);
            d = fs::digestFile(op);
            files[kOptim] = {{"bytes", d.bytes}, {"crc32", hex32(d.crc32)}};
        }
        fs::syncDir(tmp);
        stdfs::rename(tmp, fs::join(dir, set), ec);
        if (ec) throw Error(fs::join(dir, set) + ": cannot move the new checkpoint into place (" + ec.message() + ")");
        fs::syncDir(dir);
    } catch (...) {
        stdfs::remove_all(tmp, ec);
        throw;
    }
    crashPoint("set-written");
    for (const auto& p : pointers) {
        const bool withOpt = opt && p == "last";
        json j = {{"format", kFormat},         {"set", set},
                  {"epoch", st.epoch},         {"step", st.step},
                  {"best_top1", st.best_top1}, {"blocks", st.blocks},
                  {"selector", st.selector},   {"lambdas", st.lambdas},
                  {"has_optimizer", withOpt},  {"written", utcNowIso()}};
        j["files"][kModel] = files[kModel];
        if (withOpt) j["files"][kOptim] = files[kOptim];
        fs::atomicWriteText(fs::join(dir, p + ".json"), j.dump(2) + "\n");
        fs::syncDir(dir);
        crashPoint("pointer-written");
    }
    cleanCheckpoints(dir);
}

void cleanCheckpoints(const std::string& dir) {
    if (!fs::isDirectory(dir)) return;
    std::set<std::string> keep;  // paths of files and set folders some manifest names
    for (const char* p : kPointers) {
        if (!fs::exists(fs::join(dir, std::string(p) + ".json"))) continue;
        try {
            const auto m = readManifest(dir, p);
            keep.insert(m.model.path);
            if (m.has_optimizer) keep.insert(m.optim.path);
            if (!m.legacy) keep.insert(fs::join(dir, m.set));
        } catch (const Error&) {
            return;  // a manifest we cannot read: delete nothing
        }
    }
    std::error_code ec;
    for (const auto& e : stdfs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        const std::string path = e.path().string();
        const bool tmp = name.rfind(".tmp-", 0) == 0 || name.find(".tmp.") != std::string::npos;
        const bool legacyFile = name == "last.safetensors" || name == "last.optim.pt" || name == "best.safetensors";
        if (tmp || (legacyFile && !keep.count(path))) {
            stdfs::remove_all(path, ec);
        } else if (name.rfind("step-", 0) == 0 && e.is_directory(ec)) {
            if (!keep.count(path)) {
                stdfs::remove_all(path, ec);
                continue;
            }
            for (const auto& f : stdfs::directory_iterator(path, ec))
                if (!keep.count(f.path().string())) stdfs::remove_all(f.path(), ec);
        }
    }
}

CheckpointState readCheckpointState(const std::string& dir, const std::string& name) {
    const auto m = readManifest(dir, name);
    const auto& j = m.state;
    auto bad = [&](const std::string& what) { return Error(m.path + ": damaged checkpoint state (" + what + ")"); };
    auto field = [&](const char* name) -> const json& {
        if (!j.contains(name)) throw bad(std::string("no field '") + name + "'");
        return j.at(name);
    };
    try {
        CheckpointState st;
        const auto epoch = jsonnum::as<long long>(field("epoch"), "epoch");
        if (epoch < 0 || epoch > 1000000) throw bad("epoch " + std::to_string(epoch) + " is out of range");
        st.epoch = static_cast<int>(epoch);
        st.step = jsonnum::as<long long>(field("step"), "step");
        if (st.step < 0 || st.step > (1LL << 40)) throw bad("step " + std::to_string(st.step) + " is out of range");
        st.best_top1 = j.value("best_top1", -1.0);
        if (!std::isfinite(st.best_top1) || st.best_top1 < -1 || st.best_top1 > 100)
            throw bad("best_top1 " + std::to_string(st.best_top1) + " is not a percentage");
        field("blocks");
        st.blocks = jsonnum::list<int>(j, "blocks");
        st.selector = j.value("selector", "");
        st.lambdas = field("lambdas").get<std::vector<double>>();
        if (st.lambdas.size() != st.blocks.size())
            throw bad(std::to_string(st.lambdas.size()) + " lambdas for " + std::to_string(st.blocks.size()) +
                      " blocks");
        std::set<int> seen;
        for (int b : st.blocks)
            if (b < 0 || !seen.insert(b).second) throw bad("block " + std::to_string(b) + " is negative or repeated");
        for (double l : st.lambdas)
            if (!std::isfinite(l) || l < 0 || l > 1) throw bad("lambda " + std::to_string(l) + " is outside 0..1");
        return st;
    } catch (const json::exception& e) {
        throw bad(std::string("epoch, step, blocks and lambdas must be numbers: ") + jsonnum::message(e));
    }
}

void checkStateFitsRun(const CheckpointState& st, const std::string& manifest, int epochs, long long spe, int depth) {
    auto bad = [&](const std::string& what) {
        return Error(manifest + ": checkpoint state does not fit this run (" + what + ")");
    };
    if (st.epoch > epochs)
        throw bad("epoch " + std::to_string(st.epoch) + " is past the run's " + std::to_string(epochs) + " epochs");
    if (st.step > epochs * spe)
        throw bad("step " + std::to_string(st.step) + " is past the run's " + std::to_string(epochs * spe) + " steps");
    if (st.step < st.epoch * spe || st.step > (st.epoch + 1LL) * spe)
        throw bad("step " + std::to_string(st.step) + " is not within epoch " + std::to_string(st.epoch + 1) + " (" +
                  std::to_string(spe) + " steps per epoch)");
    for (int b : st.blocks)
        if (b >= depth)
            throw bad("block " + std::to_string(b) + " does not exist in a " + std::to_string(depth) + "-block model");
}

void loadCheckpoint(const std::string& dir, const std::string& name, model::VisionTransformerImpl& m,
                    torch::optim::Optimizer* opt, const CheckpointState& st) {
    const auto man = readManifest(dir, name);
    verify(man.model, man.path);
    if (opt) {
        if (!man.has_optimizer) throw Error(man.path + ": this checkpoint holds no optimizer state");
        verify(man.optim, man.path);
    }
    std::map<std::string, std::string> meta;
    auto loaded = openModel(man.model.path, {}, &meta);
    if (meta["dilute.step"] != std::to_string(st.step))
        throw Error(man.model.path + ": step " + meta["dilute.step"] + " does not match " + man.path + " (step " +
                    std::to_string(st.step) + "): the checkpoint was torn");
    std::vector<std::pair<std::string, torch::Tensor>> sd;
    for (const auto& it : loaded->named_parameters()) sd.emplace_back(it.key(), it.value());
    loadStateDict(m, sd, true, man.model.path);
    if (opt) {
        try {
            torch::load(*opt, man.optim.path);
        } catch (const c10::Error& e) {
            throw Error(man.optim.path + ": cannot read optimizer state (" + e.what_without_backtrace() + ")");
        }
    }
}

std::string checkpointWeights(const std::string& dir, const std::string& name) {
    return fs::exists(fs::join(dir, name + ".json")) ? readManifest(dir, name).model.path : std::string();
}

}  // namespace dilute::io
