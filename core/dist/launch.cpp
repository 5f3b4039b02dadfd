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
    int out = -1, err = -1;       // read ends of the worker's stdout / stderr
    std::string outBuf, errBuf;   // partial lines
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

int runLocal(const LocalLaunch& l) {
    if (l.nproc < 1) throw Error("--nproc must be at least 1");
    if (l.argv.empty()) throw Error("internal: no worker command");
    const int port = l.master_port > 0 ? l.master_port : freeLocalPort();
    std::vector<char*> cargv;
    for (const auto& a : l.argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);

    struct sigaction sa {}, oldInt{}, oldTerm{};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &oldInt);
    sigaction(SIGTERM, &sa, &oldTerm);
    g_signal.store(0);

    std::vector<Worker> ws(l.nproc);
    std::string pids;
    for (int r = 0; r < l.nproc; ++r) {
        int po[2], pe[2];
        if (::pipe2(po, O_CLOEXEC) != 0 || ::pipe2(pe, O_CLOEXEC) != 0)
            throw Error(std::string("cannot create a pipe for a worker: ") + std::strerror(errno));
        const pid_t pid = ::fork();
        if (pid < 0) throw Error(std::string("cannot start worker: ") + std::strerror(errno));
        if (pid == 0) {
            ::setpgid(0, 0);                      // Ctrl-C reaches the launcher only; it forwards once
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);   // the launcher gone (kill -9): workers stop too
            ::dup2(po[1], 1);
            ::dup2(pe[1], 2);
            ::setenv("RANK", std::to_string(r).c_str(), 1);
            ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
            ::setenv("WORLD_SIZE", std::to_string(l.nproc).c_str(), 1);
            ::setenv("LOCAL_WORLD_SIZE", std::to_string(l.nproc).c_str(), 1);
            ::setenv("GROUP_RANK", "0", 1);
            ::setenv("MASTER_ADDR", "127.0.0.1", 1);
            ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
            ::setenv("DILUTE_LAUNCHER", "local", 1);
            ::execv(cargv[0], cargv.data());
            const std::string m = std::string("cannot run ") + cargv[0] + ": " + std::strerror(errno) + "\n";
            writeAll(2, m);
            ::_exit(127);
        }
        ::close(po[1]);
        ::close(pe[1]);
        ws[r].pid = pid;
        ws[r].out = po[0];
        ws[r].err = pe[0];
        pids += (r ? " " : "") + std::to_string(pid);
    }
    writeAll(2, "launcher: " + std::to_string(l.nproc) + " workers on 127.0.0.1:" + std::to_string(port) +
                    " (pids " + pids + ")\n");

    using Clock = std::chrono::steady_clock;
    int failedRank = -1, failedStatus = 0, forwardedSignal = 0;
    Clock::time_point killAt{};
    bool killSent = false;
    auto alive = [&] {
        for (const auto& w : ws)
            if (!w.done || w.out >= 0 || w.err >= 0) return true;
        return false;
    };
    auto signalOthers = [&](int sig) {
        for (auto& w : ws)
            if (!w.done) ::kill(w.pid, sig);
    };
    while (alive()) {
        const int s = g_signal.exchange(0);
        if (s && s != forwardedSignal) {
            forwardedSignal = s;
            signalOthers(SIGINT);  // the workers write a checkpoint and stop together
        }
        std::vector<pollfd> fds;
        std::vector<std::pair<int, bool>> who;  // (rank, is stderr)
        for (int r = 0; r < l.nproc; ++r) {
            if (ws[r].out >= 0) fds.push_back({ws[r].out, POLLIN, 0}), who.push_back({r, false});
            if (ws[r].err >= 0) fds.push_back({ws[r].err, POLLIN, 0}), who.push_back({r, true});
        }
        if (!fds.empty()) ::poll(fds.data(), fds.size(), 100);
        else ::usleep(50 * 1000);
        for (size_t i = 0; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            auto& w = ws[who[i].first];
            int& fd = who[i].second ? w.err : w.out;
            std::string& buf = who[i].second ? w.errBuf : w.outBuf;
            char chunk[8192];
            const ssize_t n = ::read(fd, chunk, sizeof chunk);
            if (n > 0) {
                buf.append(chunk, size_t(n));
                forward(buf, who[i].second ? 2 : 1, who[i].first, false);
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                forward(buf, who[i].second ? 2 : 1, who[i].first, true);
                ::close(fd);
                fd = -1;
            }
        }
        for (int r = 0; r < l.nproc; ++r) {
            auto& w = ws[r];
            if (w.done) continue;
            int status = 0;
            if (::waitpid(w.pid, &status, WNOHANG) != w.pid) continue;
            w.done = true;
            w.status = status;
            const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            const bool interrupted = WIFEXITED(status) && WEXITSTATUS(status) == 130;
            if (!ok && !interrupted && failedRank < 0) {
                failedRank = r;
                failedStatus = status;
                writeAll(2, "launcher: rank " + std::to_string(r) + " (pid " + std::to_string(w.pid) + ") " +
                                describeStatus(status) + "; stopping the other workers\n");
                signalOthers(SIGTERM);
                killAt = Clock::now() + std::chrono::seconds(l.grace_seconds);
            }
        }
        if (failedRank >= 0 && !killSent && Clock::now() >= killAt) {
            signalOthers(SIGKILL);
            killSent = true;
        }
    }
    sigaction(SIGINT, &oldInt, nullptr);
    sigaction(SIGTERM, &oldTerm, nullptr);
    if (failedRank >= 0) {
        writeAll(2, "launcher: failed: rank " + std::to_string(failedRank) + " " + describeStatus(failedStatus) + "\n");
        return exitCodeOf(failedStatus) ? exitCodeOf(failedStatus) : 1;
    }
    for (const auto& w : ws)
        if (exitCodeOf(w.status) != 0) return exitCodeOf(w.status);
    return 0;
}

}  // namespace dilute::dist
