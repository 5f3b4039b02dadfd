#pragma once
// safetensors read (memory-mapped, validated) and write (atomic).
// Format: u64 little-endian header length, JSON header, then the raw tensor bytes.
#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dilute::io {

struct SafetensorsFile {
    std::map<std::string, std::string> metadata;                 // "__metadata__"
    std::vector<std::pair<std::string, torch::Tensor>> tensors;  // in file order, original dtypes
    const torch::Tensor* find(const std::string& name) const;
};

/// Reads and validates `path`: header length and JSON, dtype names, shapes vs byte sizes,
/// offsets inside the file and not overlapping. Any problem throws dilute::Error naming the file.
SafetensorsFile readSafetensors(const std::string& path);

/// Writes tensors (converted to `dtype`: kFloat, kHalf, kBFloat16 or kDouble) atomically.
void writeSafetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {}, torch::Dtype dtype = torch::kFloat);

/// "F32" <-> torch dtype (F32, F16, BF16, F64; integer types for reading only).
std::string dtypeName(torch::Dtype t);

}  // namespace dilute::io
