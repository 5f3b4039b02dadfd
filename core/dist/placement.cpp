#include "dist/placement.h"

#include "util/error.h"

namespace dilute::dist {

Placement placeRank(const std::string& device, const LaunchInfo& li, int cudaDevices, bool allowShared) {
    if (device.rfind("cuda", 0) != 0 || li.world <= 1) return {device, false};
    if (cudaDevices <= 0) throw Error("device '" + device + "': no CUDA device on this node");
    const bool explicitIndex = device.size() > 4;
    const int devices = explicitIndex ? 1 : cudaDevices;
    Placement p;
    p.device = explicitIndex ? device : "cuda:" + std::to_string(li.local_rank % cudaDevices);
    p.shared = li.local_world > devices;
    if (p.shared && !allowShared)
        throw Error(
            "LOCAL_RANK=" + std::to_string(li.local_rank) + " of " + std::to_string(li.local_world) +
            " local processes: " +
            (explicitIndex ? "all on " + device : std::to_string(cudaDevices) + " CUDA device(s) on this node") +
            "; start at most " + std::to_string(devices) +
            " process(es) per node, or pass --allow-shared-gpu to share (they then talk over Gloo)");
    return p;
}

}  // namespace dilute::dist
