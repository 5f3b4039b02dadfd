#pragma once
// Runs the built `dilute` binary like a user would: output (stdout + stderr) and exit code.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

namespace dilute::testing {

struct CliOut {
    int rc;
    std::string text;
};

/// Runs a shell command line: its output (stdout + stderr) and exit code.
inline CliOut runShell(const std::string& line) {
    const std::string cmd = "{ " + line + " ; } 2>&1";
    std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
    std::string text;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p.get())) > 0) text.append(buf.data(), n);
    const int status = pclose(p.release());
    return {WEXITSTATUS(status), text};
}

/// `prefix` goes before the command (environment assignments, `timeout -s KILL N`).
inline CliOut runCli(const std::string& args, const std::string& prefix = "") {
    return runShell(prefix + " " + std::string(DILUTE_CLI) + " " + args);
}

}  // namespace dilute::testing
