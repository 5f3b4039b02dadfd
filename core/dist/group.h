#pragma once
// The Distributed object: one process of a data-parallel job on PyTorch's own c10d
// (TCPStore rendezvous, ProcessGroupGloo on CPU, ProcessGroupNCCL on CUDA when the LibTorch in
// use has it). A world of one is the same object with no communication, so the trainer keeps
// one code path for one process and for many.
#include <torch/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dist/env.h"

namespace dilute::dist {

class Group {
public:
    /// Joins the job described by `li` (blocks until every rank has joined or `timeout` passes).
    /// `device` ("cpu", "cuda:N": where the tensors live) and `backend` pick the process group:
    /// "auto" is nccl for CUDA tensors when the build has it, else gloo (which stages CUDA tensors
    /// through host memory); "gloo" | "nccl" ask for one. A world of 1 returns single() at once.
    /// Throws dilute::Error.
    static std::shared_ptr<Group> create(const LaunchInfo& li, const std::string& device,
                                         std::chrono::seconds timeout = std::chrono::minutes(30),
                                         const std::string& backend = "auto");
    /// As create, but a world of 1 also gets a real process group (the GPU check's NCCL stage).
    static std::shared_ptr<Group> connect(const LaunchInfo& li, const std::string& device, std::chrono::seconds timeout,
                                          const std::string& backend = "auto");
    /// A world of one (no communication).
    static std::shared_ptr<Group> single();
    ~Group();

    int rank() const { return li_.rank; }
    int world() const { return li_.world; }
    bool isMain() const { return li_.rank == 0; }
    const LaunchInfo& launch() const { return li_; }
    std::string backend() const;  // "none" | "gloo" | "nccl"

    /// Collectives take tensors on the CPU or the rank's GPU, whatever the backend (a tensor the
    /// backend cannot take travels as a copy, copied back).
    /// In place: every rank ends with root's values. Tensors must be contiguous.
    void broadcast(std::vector<torch::Tensor> tensors, int root = 0);
    /// In place sums. Each call may pass tensors of different dtypes; they are reduced one by one
    /// but issued together (the waits come after all are started).
    void allreduceSum(std::vector<torch::Tensor> tensors);
    void barrier();

    struct Impl;  // c10d's objects (group.cpp)

private:
    Group(LaunchInfo li, std::string device, std::unique_ptr<Impl> impl, std::chrono::seconds timeout);
    LaunchInfo li_;
    std::string device_;
    std::unique_ptr<Impl> impl_;
    std::chrono::seconds timeout_;
};

}  // namespace dilute::dist
