#pragma once
// `dilute train --nproc N`: a standalone local launcher, like `torchrun --standalone`. Starts N
// copies of a command with the torchrun environment (RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT=<free port>), prefixes their output with
// "[rank R] ", forwards Ctrl-C / SIGTERM to them, and propagates failure: when one worker fails
// the others get SIGTERM and, after a grace period, SIGKILL; the launcher names the rank.
#include <string>
#include <vector>

namespace dilute::dist {

struct LocalLaunch {
    int nproc = 2;
    std::vector<std::string> argv;  // the worker command; argv[0] is the executable's path
    int grace_seconds = 15;         // between SIGTERM and SIGKILL for the survivors of a failure
    int master_port = 0;            // 0: a free port on 127.0.0.1
};

/// Runs the workers to the end. Returns 0 when all succeeded, 130 when they were interrupted,
/// else the exit status of the first worker that failed (128 + signal for a killed one).
int runLocal(const LocalLaunch& l);

/// Removes "--nproc N" / "--nproc=N" from a command line.
std::vector<std::string> withoutOption(const std::vector<std::string>& argv, const std::string& option);

}  // namespace dilute::dist
