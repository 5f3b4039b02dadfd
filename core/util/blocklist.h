#pragma once
// A list of blocks as the user types it ("0,2,4"): --remove of export and bench, a training
// run's --select. No LibTorch here.
#include <string>
#include <vector>

namespace dilute {

/// Parses "0,2,4" into block indices, each in [0, depth) and listed once; throws dilute::Error
/// quoting the list and naming the item at fault.
std::vector<int> parseBlockList(const std::string& text, int depth);

}  // namespace dilute
