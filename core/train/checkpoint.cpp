#include "train/checkpoint.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <sstream>

#include "io/weights.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::train {
using json = nlohmann::json;

void saveCheckpoint(const std::string& dir, const std::string& name, model::VisionTransformerImpl& m,
                    torch::optim::Optimizer* opt, const CheckpointState& st) {
    fs::makeDirs(dir);
    const std::string base = fs::join(dir, name);
    io::saveModel(m, base + ".safetensors", {{"dilute.step", std::to_string(st.step)}});
    if (opt)
        fs::atomicWrite(base + ".optim.pt", [&](const std::string& tmp) { torch::save(*opt, tmp); });
    json j = {{"epoch", st.epoch},       {"step", st.step},       {"best_top1", st.best_top1},
              {"blocks", st.blocks},     {"selector", st.selector}, {"lambdas", st.lambdas},
              {"has_optimizer", opt != nullptr}};
    fs::atomicWriteText(base + ".json", j.dump(2) + "\n");
}

CheckpointState readCheckpointState(const std::string& dir, const std::string& name) {
    const std::string path = fs::join(dir, name + ".json");
    if (!fs::exists(path)) throw Error(path + ": no checkpoint (was the run started?)");
    try {
        auto j = json::parse(fs::readText(path));
        CheckpointState st;
        st.epoch = j.at("epoch");
        st.step = j.at("step");
        st.best_top1 = j.value("best_top1", -1.0);
        st.blocks = j.at("blocks").get<std::vector<int>>();
        st.selector = j.value("selector", "");
        st.lambdas = j.at("lambdas").get<std::vector<double>>();
        return st;
    } catch (const json::exception& e) {
        throw Error(path + ": damaged checkpoint state (" + e.what() + ")");
    }
}

void loadCheckpoint(const std::string& dir, const std::string& name, model::VisionTransformerImpl& m,
                    torch::optim::Optimizer* opt, const CheckpointState& st) {
    const std::string base = fs::join(dir, name);
    std::map<std::string, std::string> meta;
    auto loaded = io::openModel(base + ".safetensors", {}, &meta);
    if (meta["dilute.step"] != std::to_string(st.step))
        throw Error(base + ".safetensors: step " + meta["dilute.step"] + " does not match " + name + ".json (step " +
                    std::to_string(st.step) + "): the checkpoint was torn");
    std::vector<std::pair<std::string, torch::Tensor>> sd;
    for (const auto& it : loaded->named_parameters()) sd.emplace_back(it.key(), it.value());
    io::loadStateDict(m, sd, true, base + ".safetensors");
    if (opt) {
        const std::string op = base + ".optim.pt";
        if (!fs::exists(op)) throw Error(op + ": missing optimizer state");
        try {
            torch::load(*opt, op);
        } catch (const c10::Error& e) {
            throw Error(op + ": cannot read optimizer state (" + e.what_without_backtrace() + ")");
        }
    }
}

MetricsLog::MetricsLog(const std::string& path) : path_(path), out_(path, std::ios::app) {
    if (!out_) throw Error(path + ": cannot open for appending");
}

void MetricsLog::write(const std::string& line) {
    out_ << line << '\n';
    out_.flush();
    if (!out_) throw Error(path_ + ": write failed (disk full?)");
}

void MetricsLog::truncateAfter(const std::string& path, long long step) {
    if (!fs::exists(path)) return;
    std::istringstream in(fs::readText(path));
    std::string line, kept;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        try {
            auto j = json::parse(line);
            if (j.value("step", 0LL) > step) continue;
        } catch (const json::exception&) {
            continue;  // a torn last line from a killed process
        }
        kept += line + "\n";
    }
    fs::atomicWriteText(path, kept);
}

}  // namespace dilute::train
