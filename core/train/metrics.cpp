#include "train/metrics.h"

#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "util/error.h"
#include "util/files.h"
#include "util/json_num.h"

namespace dilute::train {
using json = nlohmann::json;

MetricsEvent parseMetricsLine(const std::string& line) {
    MetricsEvent ev;
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        ev.kind = MetricsEvent::Kind::Bad;
        return ev;
    }
    try {
        const std::string kind = j.value("event", "");
        if (kind == "step") {
            ev.kind = MetricsEvent::Kind::Step;
            auto& e = ev.step;
            e.step = jsonnum::value<long long>(j, "step", 0);
            e.epoch = jsonnum::value<int>(j, "epoch", 0);
            e.loss = j.value("loss", 0.0);
            e.lr = j.value("lr", 0.0);
            e.images_per_s = j.value("images_per_s", 0.0);
            e.blocks = j.contains("blocks") ? jsonnum::list<int>(j, "blocks") : std::vector<int>{};
            e.lambdas = j.value("lambda", std::vector<double>{});
            ev.sync_seconds = j.value("sync_s", 0.0);
            ev.step_seconds = j.value("step_s", 0.0);
        } else if (kind == "epoch") {
            ev.kind = MetricsEvent::Kind::Epoch;
            auto& e = ev.epoch;
            e.epoch = jsonnum::value<int>(j, "epoch", 0);
            e.step = jsonnum::value<long long>(j, "step", 0);
            e.train_loss = j.value("train_loss", 0.0);
            e.test_top1 = j.value("test_top1", 0.0);
            e.test_top5 = j.value("test_top5", 0.0);
            e.test_loss = j.value("test_loss", 0.0);
            e.seconds = j.value("seconds", 0.0);
            e.images_per_s = j.value("images_per_s", 0.0);
            e.lambdas = j.value("lambda", std::vector<double>{});
            e.best = j.value("best", false);
        } else if (kind == "log") {
            ev.kind = MetricsEvent::Kind::Log;
            ev.message = j.value("message", "");
        } else if (kind == "end") {
            ev.kind = MetricsEvent::Kind::End;
            ev.status = j.value("status", "");
            ev.message = j.value("message", "");
        }
    } catch (const json::exception&) {  // a field of the wrong type
        ev = MetricsEvent{};
        ev.kind = MetricsEvent::Kind::Bad;
    }
    return ev;
}

MetricsFollower::MetricsFollower(std::string path) : path_(std::move(path)) {}

std::vector<MetricsEvent> MetricsFollower::poll() {
    restarted_ = false;
    std::vector<MetricsEvent> out;
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) return out;  // not written yet
    const uint64_t size = uint64_t(st.st_size), inode = uint64_t(st.st_ino);
    if ((inode_ && inode != inode_) || size < offset_) {  // replaced or shortened: start over
        offset_ = 0;
        partial_.clear();
        ended_ = false;
        status_.clear();
        events_ = 0;
        restarted_ = true;
    }
    inode_ = inode;
    if (size == offset_) return out;
    std::ifstream in(path_, std::ios::binary);
    if (!in) return out;
    in.seekg(std::streamoff(offset_));
    const uint64_t want = std::min<uint64_t>(size - offset_, uint64_t(64) << 20);  // bounded per poll
    std::string chunk(want, '\0');
    in.read(chunk.data(), std::streamsize(want));
    chunk.resize(size_t(in.gcount()));
    offset_ += chunk.size();
    partial_ += chunk;
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
        const std::string line = partial_.substr(start, nl - start);
        if (line.empty()) continue;
        auto ev = parseMetricsLine(line);
        if (ev.kind == MetricsEvent::Kind::End) {
            ended_ = true;
            status_ = ev.status;
        }
        ++events_;
        out.push_back(std::move(ev));
    }
    partial_.erase(0, start);
    return out;
}

std::vector<MetricsEvent> readMetrics(const std::string& path) {
    std::vector<MetricsEvent> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(parseMetricsLine(line));
    return out;
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
            if (jsonnum::value<long long>(j, "step", 0) > step) continue;
        } catch (const json::exception&) {
            continue;  // a torn last line from a killed process
        }
        kept += line + "\n";
    }
    fs::atomicWriteText(path, kept);
}

}  // namespace dilute::train
