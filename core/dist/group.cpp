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

Group::Group(LaunchInfo li, std::string device, std::unique_ptr<Impl> impl, std::chrono::seconds timeout)
    : li_(std::move(li)), device_(std::move(device)), impl_(std::move(impl)), timeout_(timeout) {}
Group::~Group() = default;

std::shared_ptr<Group> Group::single() {
    return std::shared_ptr<Group>(new Group(LaunchInfo{}, "cpu", std::make_unique<Impl>(), std::chrono::seconds(0)));
}

std::string Group::backend() const { return impl_->backend; }

namespace {

std::string who(const LaunchInfo& li) { return "rank " + std::to_string(li.rank) + " of " + std::to_string(li.world); }

c10::intrusive_ptr<c10d::Store> rendezvous(const LaunchInfo& li, std::chrono::seconds timeout) {
    try {
        c10d::TCPStoreOptions so;  // 1.13 ... 2.9 alike (2.4 adds useLibUV = true, left as it is)
        so.port = static_cast<std::uint16_t>(li.master_port);
        so.isServer = li.rank == 0;
        so.numWorkers = static_cast<std::size_t>(li.world);
        so.waitWorkers = true;
        so.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
        return c10::make_intrusive<c10d::TCPStore>(li.master_addr, so);
    } catch (const std::exception& e) {
        throw Error(who(li) + ": rendezvous at " + li.master_addr + ":" + std::to_string(li.master_port) +
                    " (host from " + li.master_from + ") failed within " + std::to_string(timeout.count()) + " s (" +
                    firstLine(e) + "); check MASTER_ADDR/MASTER_PORT and that every rank was started");
    }
}

#ifdef DILUTE_HAVE_GLOO
c10::intrusive_ptr<c10d::ProcessGroupGloo> makeGloo(const c10::intrusive_ptr<c10d::Store>& store, const LaunchInfo& li,
                                                    std::chrono::seconds timeout) {
    auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    if (ifname && *ifname)
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (isLoopback(li.master_addr))
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    opts->threads = 2;
    return c10::make_intrusive<c10d::ProcessGroupGloo>(store, li.rank, li.world, opts);
}
#endif

// The process group `backend` ("auto" | "gloo" | "nccl") asks for, on `impl->store`.
void makeProcessGroup(Group::Impl& impl, const LaunchInfo& li, bool cuda, const std::string& backend,
                      std::chrono::seconds timeout) {
#ifdef DILUTE_WITH_NCCL
    if (cuda && backend != "gloo") {
        auto opts = c10d::ProcessGroupNCCL::Options::create();
        opts->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
        impl.nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl.store, li.rank, li.world, opts);
        impl.backend = "nccl";
    }
#endif
    if (backend == "nccl" && impl.backend != "nccl")
        throw Error(std::string(cuda ? "this build of Dilute has no NCCL (DILUTE_WITH_NCCL was off)"
                                     : "NCCL needs CUDA tensors (device cpu)"));
#ifdef DILUTE_HAVE_GLOO
    if (impl.backend == "none") {
        impl.gloo = makeGloo(impl.store, li, timeout);
        impl.backend = "gloo";
    }
#endif
    (void)li, (void)timeout;
}

}  // namespace

std::shared_ptr<Group> Group::create(const LaunchInfo& li, const std::string& device, std::chrono::seconds timeout,
                                     const std::string& backend) {
    if (li.world <= 1) return single();
    return connect(li, device, timeout, backend);
}

std::shared_ptr<Group> Group::connect(const LaunchInfo& li, const std::string& device, std::chrono::seconds timeout,
                                      const std::string& backend) {
    if (backend != "auto" && backend != "gloo" && backend != "nccl")
        throw Error("c10d backend '" + backend + "': expected auto, gloo or nccl");
    auto impl = std::make_unique<Impl>();
    impl->store = rendezvous(li, timeout);
    const bool cuda = device.rfind("cuda", 0) == 0;
    try {
        makeProcessGroup(*impl, li, cuda, backend, timeout);
    } catch (const std::exception& e) {
        throw Error(who(li) + ": cannot create the process group (" + firstLine(e) + ")");
    }
    if (impl->backend == "none")
        throw Error(who(li) + ": this build of Dilute has no c10d backend for " + (cuda ? "CUDA" : "CPU") +
                    " tensors (Gloo headers were missing at build time)");
    auto g = std::shared_ptr<Group>(new Group(li, device, std::move(impl), timeout));
    g->barrier();  // every rank has its process group before the first real collective
    return g;
}

namespace {
// Runs one collective per tensor, all issued before the first wait, each on a tensor where the
// backend takes it: Gloo gets CUDA tensors as host copies (its CUDA support varies by build), NCCL
// gets host tensors as copies on the rank's GPU; the copies are copied back after the wait.
template <typename Issue>
void collective(Group::Impl& impl, const std::string& device, std::vector<torch::Tensor>& tensors, Issue&& issue) {
    std::vector<std::vector<at::Tensor>> bufs;
    for (auto& t : tensors) {
        if (impl.backend == "gloo" && t.is_cuda())
            bufs.push_back({t.cpu()});
        else if (impl.backend == "nccl" && !t.is_cuda())
            bufs.push_back({t.to(torch::Device(device))});
        else
            bufs.push_back({t});
    }
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& one : bufs) works.push_back(impl.with([&](auto& pg) { return issue(pg, one); }));
    for (auto& w : works) w->wait();
    for (size_t i = 0; i < tensors.size(); ++i)
        if (!bufs[i][0].is_same(tensors[i])) tensors[i].copy_(bufs[i][0]);
}
}  // namespace

void Group::broadcast(std::vector<torch::Tensor> tensors, int root) {
    if (impl_->backend == "none" || tensors.empty()) return;
    try {
        c10d::BroadcastOptions bo;
        bo.rootRank = root;
        collective(*impl_, device_, tensors,
                   [&](auto& pg, std::vector<at::Tensor>& one) { return pg.broadcast(one, bo); });
    } catch (const std::exception& e) {
        throw Error("rank " + std::to_string(rank()) +
                    ": broadcast failed (a peer process exited or did not answer within " +
                    std::to_string(timeout_.count()) + " s): " + firstLine(e));
    }
}

void Group::allreduceSum(std::vector<torch::Tensor> tensors) {
    if (impl_->backend == "none" || tensors.empty()) return;
    try {
        collective(*impl_, device_, tensors, [&](auto& pg, std::vector<at::Tensor>& one) { return pg.allreduce(one); });
    } catch (const std::exception& e) {
        throw Error("rank " + std::to_string(rank()) +
                    ": allreduce failed (a peer process exited or did not answer within " +
                    std::to_string(timeout_.count()) + " s): " + firstLine(e));
    }
}

void Group::barrier() {
    if (impl_->backend == "none") return;
    // A one-element allreduce: works the same on every backend and respects the timeout (an NCCL
    // group runs it on this rank's GPU).
    allreduceSum({torch::zeros({1}, torch::kFloat)});
}

}  // namespace dilute::dist
