#include "dist/group.h"

#include <torch/torch.h>

// c10d's headers compile their Gloo / NCCL parts only when asked to.
#if __has_include(<gloo/algorithm.h>)
#define USE_C10D_GLOO 1
#define DILUTE_HAVE_GLOO 1
#endif
#if defined(DILUTE_WITH_NCCL)
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef DILUTE_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef DILUTE_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>

#include "util/error.h"

namespace dilute::dist {

struct Group::Impl {
    c10::intrusive_ptr<c10d::Store> store;
#ifdef DILUTE_HAVE_GLOO
    c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef DILUTE_WITH_NCCL
    c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
    std::string backend = "none";

    template <typename Fn>
    auto with(Fn&& fn) {
#ifdef DILUTE_WITH_NCCL
        if (nccl) return fn(*nccl);
#endif
#ifdef DILUTE_HAVE_GLOO
        if (gloo) return fn(*gloo);
#endif
        throw Error("internal: no process group");
    }
};

namespace {

// The first line of a library error (c10::Error carries a backtrace after it).
std::string firstLine(const std::exception& e) {
    std::string m;
    if (auto* ce = dynamic_cast<const c10::Error*>(&e))
        m = ce->what_without_backtrace();
    else
        m = e.what();
    const auto nl = m.find('\n');
    return nl == std::string::npos ? m : m.substr(0, nl);
}

bool isLoopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

}  // namespace

Group::Group(LaunchInfo li, std::unique_ptr<Impl> impl, std::chrono::seconds timeout)
    : li_(std::move(li)), impl_(std::move(impl)), timeout_(timeout) {}
Group::~Group() = default;

std::shared_ptr<Group> Group::single() {
    return std::shared_ptr<Group>(new Group(LaunchInfo{}, std::make_unique<Impl>(), std::chrono::seconds(0)));
}

std::string Group::backend() const { return impl_->backend; }

std::shared_ptr<Group> Group::create(const LaunchInfo& li, const std::string& device, std::chrono::seconds timeout) {
    if (li.world <= 1) return single();
    auto impl = std::make_unique<Impl>();
    const std::string where = li.master_addr + ":" + std::to_string(li.master_port);
    const std::string who = "rank " + std::to_string(li.rank) + " of " + std::to_string(li.world);
    try {
        c10d::TCPStoreOptions so;
        so.port = static_cast<std::uint16_t>(li.master_port);
        so.isServer = li.rank == 0;
        so.numWorkers = static_cast<std::size_t>(li.world);
        so.waitWorkers = true;
        so.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
        impl->store = c10::make_intrusive<c10d::TCPStore>(li.master_addr, so);
    } catch (const std::exception& e) {
        throw Error(who + ": rendezvous at " + where + " (host from " + li.master_from + ") failed within " +
                    std::to_string(timeout.count()) + " s (" + firstLine(e) +
                    "); check MASTER_ADDR/MASTER_PORT and that every rank was started");
    }
    const bool cuda = device.rfind("cuda", 0) == 0;
    try {
#ifdef DILUTE_WITH_NCCL
        if (cuda) {
            auto opts = c10d::ProcessGroupNCCL::Options::create();
            opts->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
            impl->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, li.rank, li.world, opts);
            impl->backend = "nccl";
        }
#endif
#ifdef DILUTE_HAVE_GLOO
        if (impl->backend == "none") {
            auto opts =
                c10d::ProcessGroupGloo::Options::create(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
            const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
            if (ifname && *ifname)
                opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
            else if (isLoopback(li.master_addr))
                opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
            else
                opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
            opts->threads = 2;
            impl->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, li.rank, li.world, opts);
            impl->backend = "gloo";
        }
#endif
    } catch (const std::exception& e) {
        throw Error(who + ": cannot create the process group (" + firstLine(e) + ")");
    }
    if (impl->backend == "none")
        throw Error(who + ": this build of Dilute has no c10d backend for " + (cuda ? "CUDA" : "CPU") +
                    " tensors (Gloo headers were missing at build time)");
    auto g = std::shared_ptr<Group>(new Group(li, std::move(impl), timeout));
    g->barrier();  // every rank has its process group before the first real collective
    return g;
}

void Group::broadcast(std::vector<torch::Tensor> tensors, int root) {
    if (world() <= 1 || tensors.empty()) return;
    try {
        std::vector<c10::intrusive_ptr<c10d::Work>> works;
        for (auto& t : tensors) {
            std::vector<at::Tensor> one{t};
            c10d::BroadcastOptions bo;
            bo.rootRank = root;
            works.push_back(impl_->with([&](auto& pg) { return pg.broadcast(one, bo); }));
        }
        for (auto& w : works) w->wait();
    } catch (const std::exception& e) {
        throw Error("rank " + std::to_string(rank()) +
                    ": broadcast failed (a peer process exited or did not answer within " +
                    std::to_string(timeout_.count()) + " s): " + firstLine(e));
    }
}

void Group::allreduceSum(std::vector<torch::Tensor> tensors) {
    if (world() <= 1 || tensors.empty()) return;
    try {
        std::vector<c10::intrusive_ptr<c10d::Work>> works;
        for (auto& t : tensors) {
            std::vector<at::Tensor> one{t};
            works.push_back(impl_->with([&](auto& pg) { return pg.allreduce(one); }));
        }
        for (auto& w : works) w->wait();
    } catch (const std::exception& e) {
        throw Error("rank " + std::to_string(rank()) +
                    ": allreduce failed (a peer process exited or did not answer within " +
                    std::to_string(timeout_.count()) + " s): " + firstLine(e));
    }
}

void Group::barrier() {
    if (world() <= 1) return;
    // A one-element allreduce: works the same on every backend and respects the timeout.
    auto t = torch::zeros({1}, torch::kFloat);
#ifdef DILUTE_WITH_NCCL
    if (impl_->nccl) t = t.to(torch::Device(torch::kCUDA, li_.local_rank));
#endif
    allreduceSum({t});
}

}  // namespace dilute::dist
