// Reading a checkpoint back: its manifest (format, set, files with size and CRC-32, no key we do
// not write) and the training state it records, every field range-checked.
#include "io/checkpoint_manifest.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <vector>

#include "io/checkpoint.h"
#include "util/durable.h"
#include "util/error.h"
#include "util/files.h"
#include "util/json_num.h"

namespace dilute::io {

using json = nlohmann::json;

namespace detail {

std::string hex32(uint32_t v) {
    char b[9];
    std::snprintf(b, sizeof b, "%08x", v);
    return b;
}

Manifest readManifest(const std::string& dir, const std::string& name) {
    Manifest m;
    m.path = fs::join(dir, name + ".json");
    if (!fs::exists(m.path)) throw Error(m.path + ": no checkpoint (was the run started?)");
    try {
        m.state = json::parse(fs::readText(m.path));
        if (!m.state.is_object()) throw Error(m.path + ": damaged checkpoint manifest (not a JSON object)");
        // Our own file: a key we never write is damage (or another program's edit), refused by name.
        static const std::vector<std::string> legacyKeys = {"epoch",    "step",    "best_top1",    "blocks",
                                                            "selector", "lambdas", "has_optimizer"};
        std::vector<std::string> setKeys = legacyKeys;
        setKeys.insert(setKeys.end(), {"format", "set", "files", "written"});
        jsonnum::requireKnownKeys(m.state, m.state.contains("format") ? setKeys : legacyKeys, m.path);
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
        jsonnum::requireKnownKeys(files, {kModel, kOptim}, m.path + ": files");
        auto file = [&](const char* fname, Manifest::File& f) {
            f.path = fs::join(fs::join(dir, m.set), fname);
            if (!files.contains(fname)) return false;
            const auto& e = files.at(fname);
            jsonnum::requireKnownKeys(e, {"bytes", "crc32"}, m.path + ": files." + fname);
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

}  // namespace detail

using namespace detail;

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

}  // namespace dilute::io
