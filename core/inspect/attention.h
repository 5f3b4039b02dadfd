#pragma once
// The attention quantities of SPEC section 7 from softmax attention matrices A [B,H,T,T]:
// class-token maps, attention rollout (Abnar & Zuidema 2020) and mean attention distance
// (Dosovitskiy et al. 2021). `prefix` tokens (class, distillation, registers) come first.
#include <torch/types.h>

#include <vector>

namespace dilute::inspect {

/// cls[b,h,p] = A[b,h,0,prefix+p], as computed (not renormalised): [B,H,P].
torch::Tensor classTokenMaps(const torch::Tensor& A, int prefix);

/// d(q,k): the Euclidean distance between the grid positions of patches q and k, times the patch
/// size (input pixels), [P,P] float64, patch p at row p / grid, column p % grid.
torch::Tensor patchDistances(int grid, int patch);

/// Sum over images and patch queries q of sum_k A[prefix+q, prefix+k] d(q,k): [H] float64
/// (divide by images x patches for the mean).
torch::Tensor distanceSums(const torch::Tensor& A, int prefix, const torch::Tensor& d);

/// Rollout per image, [B,P]: B_l = ((2 - lambda_l) I + lambda_l mean_h A_l) / 2 (an undefined A_l,
/// a removed block, is I), R = B_{L-1} ... B_0, then R[0, prefix+p] with a class token, else the
/// mean over patch rows q of R[prefix+q, prefix+p]. Computed in float64. B images, T tokens
/// (a model with no attention left has R = I).
torch::Tensor rollout(const std::vector<torch::Tensor>& A, const std::vector<double>& lambdas, int prefix,
                      bool classToken, int64_t B, int64_t T);

}  // namespace dilute::inspect
