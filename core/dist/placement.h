#pragma once
// Which device a process of a data-parallel job computes on, and whether it shares it.
#include <string>

#include "dist/env.h"

namespace dilute::dist {

struct Placement {
    std::string device;   // "cpu" or "cuda:N"
    bool shared = false;  // more local ranks than CUDA devices: ranks share a GPU
    /// The c10d backend for this placement: "gloo" when sharing a GPU (NCCL refuses two ranks on
    /// one device), else "auto" (NCCL for CUDA tensors where the build has it, Gloo otherwise).
    std::string backend() const { return shared ? "gloo" : "auto"; }
};

/// `device` as resolved (resolveDevice: "cpu", "cuda", "cuda:N") for local rank `li.local_rank`
/// of `li.local_world` on a node with `cudaDevices` GPUs: "cuda" -> cuda:(LOCAL_RANK % devices);
/// an explicit cuda:N is kept (every local rank on it). More local ranks than devices throws
/// dilute::Error naming LOCAL_RANK unless `allowShared` (--allow-shared-gpu).
Placement placeRank(const std::string& device, const LaunchInfo& li, int cudaDevices, bool allowShared);

}  // namespace dilute::dist
