#include "train/runs.h"
#include "train/runfolder.h"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <algorithm>
#include <ctime>
#include <filesystem>

#include "util/error.h"
#include "util/files.h"
#include "util/json_num.h"

namespace dilute::train {
using json = nlohmann::json;
namespace stdfs = std::filesystem;

RunSummary summarizeRun(const std::string& dir, const std::string& name, long long idleSeconds) {
    RunSummary r;
    r.path = dir;
    r.name = name.empty() ? stdfs::path(dir).filename().string() : name;
    const std::string cfgPath = fs::join(dir, "config.json");
    try {
        const auto cfg = json::parse(fs::readText(cfgPath));
        r.model = stdfs::path(cfg.value("model", std::string())).filename().string();
        r.epochs = jsonnum::value<int>(cfg, "epochs", 0);
        r.created = cfg.value("created", std::string());
        if (cfg.contains("resolved_selection") && cfg["resolved_selection"].is_object()) {
            r.selector = cfg["resolved_selection"].value("selector", std::string());
            r.blocks = jsonnum::list<int>(cfg["resolved_selection"], "blocks");
        }
        if (cfg.contains("distributed") && cfg["distributed"].is_object())
            r.world_size = jsonnum::value<int>(cfg["distributed"], "world_size", 1);
    } catch (const json::exception& e) {
        throw Error(cfgPath + ": not a readable run config (" + jsonnum::message(e) + ")");
    }
    if (r.blocks.empty()) r.selector = "none";
    const std::string metrics = fs::join(dir, "metrics.jsonl");
    struct stat st {};
    if (::stat(metrics.c_str(), &st) == 0) r.updated = static_cast<long long>(st.st_mtime);
    bool ended = false;
    for (const auto& e : readMetrics(metrics)) {
        if (e.kind == MetricsEvent::Kind::Step) {
            r.steps = e.step.step;
        } else if (e.kind == MetricsEvent::Kind::Epoch) {
            ++r.epochs_done;
            r.final_top1 = e.epoch.test_top1;
            r.best_top1 = std::max(r.best_top1, e.epoch.test_top1);
        } else if (e.kind == MetricsEvent::Kind::End) {
            ended = true;
            r.status = e.status;
            r.message = e.message;
        } else if (ended && e.kind != MetricsEvent::Kind::Bad) {
            ended = false;  // resumed after an end event: a later end decides
            r.status.clear();
            r.message.clear();
        }
    }
    // A run this machine is writing holds its folder's lock (train/runfolder.h): running however
    // long its epoch takes. Otherwise (another machine, or no lock): running while it writes.
    if (!ended)
        r.status = runFolderLocked(dir) || (r.updated > 0 && std::time(nullptr) - r.updated <= idleSeconds)
                       ? "running"
                       : "interrupted";
    return r;
}

std::vector<RunSummary> listRuns(const std::string& root, long long idleSeconds) {
    std::vector<RunSummary> out;
    auto consider = [&](const stdfs::path& d) {
        if (!fs::exists((d / "config.json").string())) return false;
        try {
            auto rel = stdfs::relative(d, root).string();
            if (rel.empty() || rel == ".") rel = d.filename().string();
            out.push_back(summarizeRun(d.string(), rel, idleSeconds));
        } catch (const Error&) {}
        return true;
    };
    std::error_code ec;
    if (!stdfs::is_directory(root, ec)) return out;
    if (consider(root)) return out;
    for (const auto& a : stdfs::directory_iterator(root, ec)) {
        if (!a.is_directory(ec) || consider(a.path())) continue;
        for (const auto& b : stdfs::directory_iterator(a.path(), ec))
            if (b.is_directory(ec)) consider(b.path());
    }
    std::sort(out.begin(), out.end(), [](const RunSummary& a, const RunSummary& b) { return a.name < b.name; });
    return out;
}

RunCurves readRunCurves(const std::string& dir) {
    RunCurves c;
    for (const auto& e : readMetrics(fs::join(dir, "metrics.jsonl"))) {
        if (e.kind == MetricsEvent::Kind::Step) {
            c.step.push_back(double(e.step.step));
            c.loss.push_back(e.step.loss);
            double lam = 1.0;
            if (!e.step.lambdas.empty()) {
                lam = 0;
                for (double l : e.step.lambdas) lam += l;
                lam /= double(e.step.lambdas.size());
            }
            c.lambda.push_back(lam);
        } else if (e.kind == MetricsEvent::Kind::Epoch) {
            c.epoch.push_back(double(e.epoch.epoch + 1));
            c.top1.push_back(e.epoch.test_top1);
        }
    }
    return c;
}

}  // namespace dilute::train
