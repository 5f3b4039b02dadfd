#pragma once
// Terminal progress bar with ETA drawn from core progress callbacks; plain lines when not a tty.
#include <chrono>
#include <memory>
#include <string>

#include "util/cancel.h"

namespace dilute::cli {

class ProgressBar {
public:
    explicit ProgressBar(std::string label);
    void update(long long done, long long total, const std::string& extra = "");
    void finish(const std::string& extra = "");
    /// Clears the bar's line on a terminal, so a log line can be printed in its place.
    void clearLine() const;

private:
    std::string label_;
    bool tty_;
    std::chrono::steady_clock::time_point start_, last_;
    int last_percent_ = -1;
};

/// A job of several phases: one bar per phase (a new one when the phase changes), log lines
/// printed in the bar's place.
class PhaseProgress {
public:
    void update(const Progress& p);
    void log(const std::string& line);
    void finish();

private:
    std::unique_ptr<ProgressBar> bar_;
    std::string phase_;
};

/// Ctrl-C sets this token (the second Ctrl-C kills the process).
CancelToken& interruptToken();
void installInterruptHandler();
std::string formatDuration(double seconds);

}  // namespace dilute::cli
