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

#include "io/checkpoint_manifest.h"
#include "io/weights.h"
#include "util/durable.h"
#include "util/error.h"
#include "util/files.h"
#include "util/json_num.h"
#include "util/runtime.h"

namespace dilute::io {
using json = nlohmann::json;
namespace stdfs = std::filesystem;

using namespace detail;

namespace {

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

std::string freeSetName(const std::string& dir, long long step) {
    char base[32];
    std::snprintf(base, sizeof base, "step-%09lld", step);
    std::string name = base;
    for (int i = 2; fs::exists(fs::join(dir, name)); ++i) name = std::string(base) + "." + std::to_string(i);
    return name;
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
