#pragma once
// Terminal progress bar with ETA drawn from core progress callbacks; plain lines when not a tty.
#include <chrono>
#include <string>

#include "util/cancel.h"

namespace dilute::cli {

class ProgressBar {
public:
    explicit ProgressBar(std::string label);
    void update(long long done, long long total, const std::string& extra = "");
    void finish(const std::string& extra = "");

private:
    std::string label_;
    bool tty_;
    std::chrono::steady_clock::time_point start_, last_;
    int last_percent_ = -1;
};

/// Ctrl-C sets this token (the second Ctrl-C kills the process).
CancelToken& interruptToken();
void installInterruptHandler();
std::string formatDuration(double seconds);

}  // namespace dilute::cli
