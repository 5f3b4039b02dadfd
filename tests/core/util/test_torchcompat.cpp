// The version-dependent calls: what this LibTorch has, and each switch doing what it says.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "util/error.h"
#include "util/torchcompat.h"

using namespace dilute;

TEST(TorchCompat, FusedAttentionExistsFromLibTorch2) {
    EXPECT_EQ(compat::hasFusedAttention(), TORCH_VERSION_MAJOR >= 2);
    torch::manual_seed(0);
    auto q = torch::randn({2, 3, 5, 4}), k = torch::randn({2, 3, 5, 4}), v = torch::randn({2, 3, 5, 4});
    if (!compat::hasFusedAttention()) {
        try {
            compat::fusedAttention(q, k, v);
            FAIL() << "no error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(TORCH_VERSION), std::string::npos) << e.what();
        }
        return;
    }
    const auto explicitOut = torch::matmul((torch::matmul(q, k.transpose(-2, -1)) / 2.0).softmax(-1), v);
    EXPECT_TRUE(torch::allclose(compat::fusedAttention(q, k, v), explicitOut, 1e-5, 1e-6));
}

TEST(TorchCompat, Tf32SwitchesBothLibraries) {
    const bool blas = compat::tf32CuBlas(), dnn = compat::tf32CuDnn();
    compat::setTf32(true);
    EXPECT_TRUE(compat::tf32CuBlas());
    EXPECT_TRUE(compat::tf32CuDnn());
    compat::setTf32(false);
    EXPECT_FALSE(compat::tf32CuBlas());
    EXPECT_FALSE(compat::tf32CuDnn());
    at::globalContext().setAllowTF32CuBLAS(blas);
    at::globalContext().setAllowTF32CuDNN(dnn);
}

TEST(TorchCompat, CudaAutocastLeavesCpuWorkInFp32) {
    compat::setCudaAutocast(torch::kBFloat16, true);
    const auto y = torch::matmul(torch::randn({4, 4}), torch::randn({4, 4}));
    compat::setCudaAutocast(torch::kFloat, false);
    EXPECT_EQ(y.scalar_type(), torch::kFloat);  // CUDA autocast does not touch CPU tensors
}

TEST(TorchCompat, CudaMemoryIsReportedOnlyWithCuda) {
    compat::CudaMemory m;
    m.peak = 7;
    const bool have = compat::cudaMemory(0, m);
    if (!torch::cuda::is_available()) EXPECT_FALSE(have);
    if (have)
        EXPECT_GE(m.peak, m.current);
    else
        EXPECT_EQ(m.peak, 0);  // cleared, not left as it was
}
