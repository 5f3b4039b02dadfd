#pragma once
// metrics.jsonl, read back: one parser for every reader (workbench plots, live follow, demo,
// benchmarks), and a follower that returns the events appended since the last poll, so a run
// that is still being written (by this machine or a cluster through a shared folder) is watched live.
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "train/events.h"

namespace dilute::train {

struct MetricsEvent {
    enum class Kind { Step, Epoch, Log, End, Other, Bad };
    Kind kind = Kind::Other;
    StepEvent step;           // Kind::Step
    EpochEvent epoch;         // Kind::Epoch
    std::string message;      // Kind::Log, Kind::End (failure reason)
    std::string status;       // Kind::End: finished | cancelled | failed
    double sync_seconds = 0;  // Kind::Step of a data-parallel run: time in gradient allreduce
    double step_seconds = 0;  // Kind::Step of a data-parallel run: wall time of the step
};

/// Parses one line; a damaged line gives Kind::Bad (never throws).
MetricsEvent parseMetricsLine(const std::string& line);

/// Reads RUN/metrics.jsonl (or any such file) incrementally. Only whole lines are returned; a
/// partial last line waits for its newline. When the file is replaced or shortened (a run
/// restarted, a resume truncating the events after its checkpoint), poll() starts over and
/// sets restarted() so the reader can clear what it drew.
class MetricsFollower {
public:
    explicit MetricsFollower(std::string path);
    std::vector<MetricsEvent> poll();
    bool restarted() const { return restarted_; }
    bool ended() const { return ended_; }  // an "end" event was read
    const std::string& status() const { return status_; }
    long long events() const { return events_; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    uint64_t offset_ = 0, inode_ = 0;
    std::string partial_;
    bool restarted_ = false, ended_ = false;
    std::string status_;
    long long events_ = 0;
};

/// Appends one JSON object per line and flushes.
class MetricsLog {
public:
    explicit MetricsLog(const std::string& path);
    void write(const std::string& jsonLine);
    /// Keeps only events whose step <= `step` (on resume, drops what came after the checkpoint).
    static void truncateAfter(const std::string& path, long long step);

private:
    std::string path_;
    std::ofstream out_;
};

/// All events of a metrics file at once.
std::vector<MetricsEvent> readMetrics(const std::string& path);

}  // namespace dilute::train
