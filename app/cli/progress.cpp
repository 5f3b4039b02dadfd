#include "cli/progress.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>

namespace dilute::cli {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)),
      tty_(::isatty(::fileno(stderr))),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

std::string formatDuration(double s) {
    char buf[32];
    if (s < 0 || s > 1e7) return "--:--";
    const int t = static_cast<int>(s + 0.5);
    if (t >= 3600)
        std::snprintf(buf, sizeof buf, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else
        std::snprintf(buf, sizeof buf, "%02d:%02d", t / 60, t % 60);
    return buf;
}

void ProgressBar::update(long long done, long long total, const std::string& extra) {
    const auto now = std::chrono::steady_clock::now();
    const double el = std::chrono::duration<double>(now - start_).count();
    const double frac = total > 0 ? static_cast<double>(done) / total : 0.0;
    const double eta = done > 0 ? el / done * (total - done) : -1;
    if (tty_) {
        if (std::chrono::duration<double>(now - last_).count() < 0.1 && done < total) return;
        last_ = now;
        const int width = 28, filled = static_cast<int>(frac * width);
        std::string bar(filled, '#');
        bar.resize(width, '.');
        std::fprintf(stderr, "\r\033[K%s [%s] %3d%% %lld/%lld %s<%s %s", label_.c_str(), bar.c_str(),
                     static_cast<int>(frac * 100), done, total, formatDuration(el).c_str(), formatDuration(eta).c_str(),
                     extra.c_str());
    } else {
        const int pct = static_cast<int>(frac * 10) * 10;  // a plain line every 10%
        if (pct == last_percent_) return;
        last_percent_ = pct;
        std::fprintf(stderr, "%s: %d%% (%lld/%lld) elapsed %s eta %s %s\n", label_.c_str(), pct, done, total,
                     formatDuration(el).c_str(), formatDuration(eta).c_str(), extra.c_str());
    }
    std::fflush(stderr);
}

void ProgressBar::clearLine() const {
    if (tty_) std::fprintf(stderr, "\r\033[K");
}

void ProgressBar::finish(const std::string& extra) {
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (tty_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s: done in %s %s\n", label_.c_str(), formatDuration(el).c_str(), extra.c_str());
}

void PhaseProgress::update(const Progress& p) {
    if (!bar_ || p.phase != phase_) {
        if (bar_) bar_->finish();
        bar_ = std::make_unique<ProgressBar>(p.phase);
        phase_ = p.phase;
    }
    bar_->update(p.done, p.total);
}

void PhaseProgress::log(const std::string& line) {
    if (bar_) bar_->clearLine();
    std::fprintf(stderr, "%s\n", line.c_str());
}

void PhaseProgress::finish() {
    if (bar_) bar_->finish();
    bar_.reset();
}

CancelToken& interruptToken() {
    static CancelToken token;
    return token;
}

static void onSigint(int) {
    if (interruptToken().cancelled()) std::_Exit(130);
    interruptToken().cancel();
}

void installInterruptHandler() {
    std::signal(SIGINT, onSigint);
    std::signal(SIGTERM, onSigint);
}

}  // namespace dilute::cli
