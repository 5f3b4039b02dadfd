#pragma once
// Where this process sits in a data-parallel job, read from the launcher's environment:
// torchrun (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT),
// SLURM (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_JOB_NODELIST) and Open MPI
// (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE). No environment: a single process.
#include <functional>
#include <string>

namespace dilute::dist {

struct LaunchInfo {
    int rank = 0;
    int world = 1;
    int local_rank = 0;
    int local_world = 1;
    std::string master_addr = "127.0.0.1";
    int master_port = 29500;
    std::string master_from = "the default";  // where master_addr came from: MASTER_ADDR, a SLURM node list
    std::string source = "single";            // single | torchrun | slurm | openmpi
    bool distributed() const { return world > 1; }
    std::string describe() const;  // "rank 1 of 4 (local 1 of 2), master 10.0.0.1:29500, via torchrun"
};

using GetEnv = std::function<const char*(const char*)>;

/// Reads the launch from the environment (the process's own when `env` is empty). Throws
/// dilute::Error naming the variable when a value is malformed or inconsistent.
LaunchInfo detectLaunch(const GetEnv& env = {});

/// The first host of a SLURM host list: "gpu[07-09,12],cpu1" -> "gpu07".
std::string firstSlurmHost(const std::string& nodelist);

/// A TCP port on 127.0.0.1 free right now (for a local launch).
int freeLocalPort();

}  // namespace dilute::dist
