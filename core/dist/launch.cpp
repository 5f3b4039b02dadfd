#include "dist/launch.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>

#include "dist/env.h"
#include "util/error.h"

namespace dilute::dist {

std::vector<std::string> withoutOption(const std::vector<std::string>& argv, const std::string& option) {
    std::vector<std::string> out;
    for (size_t i = 0; i < argv.size(); ++i) {
        if (argv[i] == option) {
            ++i;  // and its value
            continue;
        }
        if (argv[i].rfind(option + "=", 0) == 0) continue;
        out.push_back(argv[i]);
    }
    return out;
}

namespace {

std::atomic<int> g_signal{0};
void onSignal(int s) { g_signal.store(s); }

struct Worker {
    pid_t pid = -1;
    int out = -1, err = -1;      // read ends of the worker's stdout / stderr
    std::string outBuf, errBuf;  // partial lines
    bool done = false;
    int status = 0;
};

void writeAll(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        off += size_t(n);
    }
}

// Forwards whole lines (ended by \n or \r) with the rank prefix; keeps the rest for later.
void forward(std::string& buf, int fd, int rank, bool flushAll) {
    const std::string prefix = "[rank " + std::to_string(rank) + "] ";
    std::string outText;
    size_t start = 0;
    for (size_t i = 0; i < buf.size(); ++i) {
        if (buf[i] == '\n' || buf[i] == '\r') {
            if (i > start) outText += prefix + buf.substr(start, i - start);
            outText += buf[i];
            start = i + 1;
        }
    }
    buf.erase(0, start);
    if (flushAll && !buf.empty()) {
        outText += prefix + buf + "\n";
        buf.clear();
    }
    if (!outText.empty()) writeAll(fd, outText);
}

std::string describeStatus(int status) {
    if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        const int s = WTERMSIG(status);
        return "was killed by signal " + std::to_string(s) + " (" + ::strsignal(s) + ")";
    }
    return "stopped (status " + std::to_string(status) + ")";
}

int exitCodeOf(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

}  // namespace

namespace {

// Starts one worker with the torchrun environment; its stdout / stderr come back through pipes.
Worker spawnWorker(const LocalLaunch& l, int rank, int port, std::vector<char*>& cargv) {
    int po[2], pe[2];
    if (::pipe2(po, O_CLOEXEC) != 0 || ::pipe2(pe, O_CLOEXEC) != 0)
        throw Error(std::string("cannot create a pipe for a worker: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) throw Error(std::string("cannot start worker: ") + std::strerror(errno));
    if (pid == 0) {
        ::setpgid(0, 0);                     // Ctrl-C reaches the launcher only; it forwards once
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the launcher gone (kill -9): workers stop too
        ::dup2(po[1], 1);
        ::dup2(pe[1], 2);
        ::setenv("RANK", std::to_string(rank).c_str(), 1);
        ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
        ::setenv("WORLD_SIZE", std::to_string(l.nproc).c_str(), 1);
        ::setenv("LOCAL_WORLD_SIZE", std::to_string(l.nproc).c_str(), 1);
        ::setenv("GROUP_RANK", "0", 1);
        ::setenv("MASTER_ADDR", "127.0.0.1", 1);
        ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
        ::setenv("DILUTE_LAUNCHER", "local", 1);
        ::execv(cargv[0], cargv.data());
        writeAll(2, std::string("cannot run ") + cargv[0] + ": " + std::strerror(errno) + "\n");
        ::_exit(127);
    }
    ::close(po[1]);
    ::close(pe[1]);
    Worker w;
    w.pid = pid;
    w.out = po[0];
    w.err = pe[0];
    return w;
}

// Watches the workers to their end: forwards their output line by line, reaps their exits and
// spreads a failure (SIGTERM to the others, SIGKILL after the grace period) or a Ctrl-C.
class Supervisor {
public:
    Supervisor(std::vector<Worker> ws, int graceSeconds) : ws_(std::move(ws)), grace_(graceSeconds) {}

    bool alive() const {
        for (const auto& w : ws_)
            if (!w.done || w.out >= 0 || w.err >= 0) return true;
        return false;
    }

    void step() {
        const int s = g_signal.exchange(0);
        if (s && s != forwardedSignal_) {
            forwardedSignal_ = s;
            signalOthers(SIGINT);  // the workers write a checkpoint and stop together
        }
        pumpOutput();
        reap();
        if (failedRank_ >= 0 && !killSent_ && Clock::now() >= killAt_) {
            signalOthers(SIGKILL);
            killSent_ = true;
        }
    }

    int exitCode() const {
        if (failedRank_ >= 0) {
            writeAll(2, "launcher: failed: rank " + std::to_string(failedRank_) + " " + describeStatus(failedStatus_) +
                            "\n");
            return exitCodeOf(failedStatus_) ? exitCodeOf(failedStatus_) : 1;
        }
        for (const auto& w : ws_)
            if (exitCodeOf(w.status) != 0) return exitCodeOf(w.status);
        return 0;
    }

private:
    using Clock = std::chrono::steady_clock;

    void signalOthers(int sig) {
        for (auto& w : ws_)
            if (!w.done) ::kill(w.pid, sig);
    }

    void pumpOutput() {
        std::vector<pollfd> fds;
        std::vector<std::pair<int, bool>> who;  // (rank, is stderr)
        for (int r = 0; r < int(ws_.size()); ++r) {
            if (ws_[r].out >= 0) fds.push_back({ws_[r].out, POLLIN, 0}), who.push_back({r, false});
            if (ws_[r].err >= 0) fds.push_back({ws_[r].err, POLLIN, 0}), who.push_back({r, true});
        }
        if (fds.empty()) {
            ::usleep(50 * 1000);
            return;
        }
        ::poll(fds.data(), fds.size(), 100);
        for (size_t i = 0; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            auto& w = ws_[who[i].first];
            const bool isErr = who[i].second;
            int& fd = isErr ? w.err : w.out;
            std::string& buf = isErr ? w.errBuf : w.outBuf;
            char chunk[8192];
            const ssize_t n = ::read(fd, chunk, sizeof chunk);
            if (n > 0) {
                buf.append(chunk, size_t(n));
                forward(buf, isErr ? 2 : 1, who[i].first, false);
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                forward(buf, isErr ? 2 : 1, who[i].first, true);
                ::close(fd);
                fd = -1;
            }
        }
    }

    void reap() {
        for (int r = 0; r < int(ws_.size()); ++r) {
            auto& w = ws_[r];
            int status = 0;
            if (w.done || ::waitpid(w.pid, &status, WNOHANG) != w.pid) continue;
            w.done = true;
            w.status = status;
            const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            const bool interrupted = WIFEXITED(status) && WEXITSTATUS(status) == 130;
            if (ok || interrupted || failedRank_ >= 0) continue;
            failedRank_ = r;
            failedStatus_ = status;
            writeAll(2, "launcher: rank " + std::to_string(r) + " (pid " + std::to_string(w.pid) + ") " +
                            describeStatus(status) + "; stopping the other workers\n");
            signalOthers(SIGTERM);
            killAt_ = Clock::now() + std::chrono::seconds(grace_);
        }
    }

    std::vector<Worker> ws_;
    int grace_;
    int failedRank_ = -1, failedStatus_ = 0, forwardedSignal_ = 0;
    Clock::time_point killAt_{};
    bool killSent_ = false;
};

}  // namespace

int runLocal(const LocalLaunch& l) {
    if (l.nproc < 1) throw Error("--nproc must be at least 1");
    if (l.argv.empty()) throw Error("internal: no worker command");
    const int port = l.master_port > 0 ? l.master_port : freeLocalPort();
    std::vector<char*> cargv;
    for (const auto& a : l.argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);

    struct sigaction sa {
    }, oldInt{}, oldTerm{};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &oldInt);
    sigaction(SIGTERM, &sa, &oldTerm);
    g_signal.store(0);

    std::vector<Worker> ws;
    std::string pids;
    for (int r = 0; r < l.nproc; ++r) {
        ws.push_back(spawnWorker(l, r, port, cargv));
        pids += (r ? " " : "") + std::to_string(ws.back().pid);
    }
    writeAll(2, "launcher: " + std::to_string(l.nproc) + " workers on 127.0.0.1:" + std::to_string(port) + " (pids " +
                    pids + ")\n");
    Supervisor sup(std::move(ws), l.grace_seconds);
    while (sup.alive()) sup.step();
    sigaction(SIGINT, &oldInt, nullptr);
    sigaction(SIGTERM, &oldTerm, nullptr);
    return sup.exitCode();
}

}  // namespace dilute::dist
