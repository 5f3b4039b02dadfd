#include "dist/env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/error.h"

namespace dilute::dist {

std::string LaunchInfo::describe() const {
    return "rank " + std::to_string(rank) + " of " + std::to_string(world) + " (local " + std::to_string(local_rank) +
           " of " + std::to_string(local_world) + "), master " + master_addr + ":" + std::to_string(master_port) +
           ", via " + source;
}

namespace {

int parseInt(const GetEnv& env, const char* name, int lo, int hi) {
    const char* v = env(name);
    if (!v) throw Error(std::string("environment variable ") + name + " is not set");
    errno = 0;
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || x < lo || x > hi)
        throw Error(std::string("environment variable ") + name + "='" + v + "': expected an integer in [" +
                    std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return static_cast<int>(x);
}

bool has(const GetEnv& env, const char* name) {
    const char* v = env(name);
    return v && *v;
}

constexpr int kMaxWorld = 1 << 20;

}  // namespace

std::string firstSlurmHost(const std::string& nodelist) {
    // Grammar: host list = item ("," item)*; item = prefix ["[" range ("," range)* "]"] suffix.
    const size_t comma = nodelist.find(',');
    const size_t bracket = nodelist.find('[');
    if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket))
        return nodelist.substr(0, comma);
    const size_t close = nodelist.find(']', bracket);
    if (close == std::string::npos) throw Error("SLURM_JOB_NODELIST='" + nodelist + "': unbalanced '['");
    const std::string prefix = nodelist.substr(0, bracket);
    std::string first = nodelist.substr(bracket + 1, close - bracket - 1);
    first = first.substr(0, first.find_first_of(",-"));
    if (first.empty()) throw Error("SLURM_JOB_NODELIST='" + nodelist + "': empty range");
    std::string suffix;
    for (size_t i = close + 1; i < nodelist.size() && nodelist[i] != ','; ++i) suffix += nodelist[i];
    return prefix + first + suffix;
}

LaunchInfo detectLaunch(const GetEnv& given) {
    const GetEnv env = given ? given : GetEnv([](const char* n) { return std::getenv(n); });
    LaunchInfo li;
    if (has(env, "RANK") || has(env, "WORLD_SIZE")) {
        li.source = "torchrun";
        li.world = parseInt(env, "WORLD_SIZE", 1, kMaxWorld);
        li.rank = parseInt(env, "RANK", 0, li.world - 1);
        li.local_rank = has(env, "LOCAL_RANK") ? parseInt(env, "LOCAL_RANK", 0, li.world - 1) : li.rank;
        li.local_world = has(env, "LOCAL_WORLD_SIZE") ? parseInt(env, "LOCAL_WORLD_SIZE", 1, li.world) : li.world;
        if (li.local_rank >= li.local_world)
            throw Error("environment variable LOCAL_RANK=" + std::to_string(li.local_rank) +
                        " is not below LOCAL_WORLD_SIZE=" + std::to_string(li.local_world));
    } else if (has(env, "SLURM_PROCID") && has(env, "SLURM_NTASKS")) {
        li.source = "slurm";
        li.world = parseInt(env, "SLURM_NTASKS", 1, kMaxWorld);
        li.rank = parseInt(env, "SLURM_PROCID", 0, li.world - 1);
        li.local_rank = has(env, "SLURM_LOCALID") ? parseInt(env, "SLURM_LOCALID", 0, li.world - 1) : 0;
        li.local_world =
            has(env, "SLURM_NTASKS_PER_NODE") ? std::atoi(env("SLURM_NTASKS_PER_NODE")) : 1;  // "4(x2)" forms read as 4
        if (li.local_world < 1) li.local_world = 1;
        if (!has(env, "MASTER_ADDR")) {
            if (!has(env, "SLURM_JOB_NODELIST") && !has(env, "SLURM_NODELIST"))
                throw Error("SLURM launch: set MASTER_ADDR or run inside a job (SLURM_JOB_NODELIST is not set)");
            const char* list = has(env, "SLURM_JOB_NODELIST") ? "SLURM_JOB_NODELIST" : "SLURM_NODELIST";
            li.master_addr = firstSlurmHost(env(list));
            li.master_from = std::string("the first host of ") + list + " (" + env(list) + ")";
            if (li.master_addr.empty())
                throw Error(std::string("environment variable ") + list + "='" + env(list) +
                            "' names no host for rank 0; set MASTER_ADDR");
        }
    } else if (has(env, "OMPI_COMM_WORLD_RANK") && has(env, "OMPI_COMM_WORLD_SIZE")) {
        li.source = "openmpi";
        li.world = parseInt(env, "OMPI_COMM_WORLD_SIZE", 1, kMaxWorld);
        li.rank = parseInt(env, "OMPI_COMM_WORLD_RANK", 0, li.world - 1);
        li.local_rank =
            has(env, "OMPI_COMM_WORLD_LOCAL_RANK") ? parseInt(env, "OMPI_COMM_WORLD_LOCAL_RANK", 0, li.world - 1) : 0;
        li.local_world =
            has(env, "OMPI_COMM_WORLD_LOCAL_SIZE") ? parseInt(env, "OMPI_COMM_WORLD_LOCAL_SIZE", 1, li.world) : 1;
        if (li.world > 1 && !has(env, "MASTER_ADDR"))
            throw Error(
                "Open MPI launch: set MASTER_ADDR (and MASTER_PORT) to the host of rank 0, e.g. mpirun -x "
                "MASTER_ADDR=host0");
    } else {
        return li;
    }
    if (has(env, "MASTER_ADDR")) {
        li.master_addr = env("MASTER_ADDR");
        li.master_from = "MASTER_ADDR";
    }
    if (has(env, "MASTER_PORT")) {
        li.master_port = parseInt(env, "MASTER_PORT", 1, 65535);
    } else if (li.source == "torchrun" && li.world > 1) {
        throw Error(
            "environment variable MASTER_PORT is not set (torchrun sets it; set MASTER_ADDR and MASTER_PORT by hand "
            "otherwise)");
    }
    if (li.source == "torchrun" && li.world > 1 && !has(env, "MASTER_ADDR"))
        throw Error(
            "environment variable MASTER_ADDR is not set (torchrun sets it; set MASTER_ADDR and MASTER_PORT by hand "
            "otherwise)");
    if (li.local_rank >= li.local_world) li.local_world = li.local_rank + 1;
    return li;
}

int freeLocalPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw Error(std::string("cannot open a socket: ") + std::strerror(errno));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        const int e = errno;
        ::close(fd);
        throw Error(std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(e));
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

}  // namespace dilute::dist
