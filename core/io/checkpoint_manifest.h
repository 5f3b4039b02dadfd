#pragma once
// Inside the checkpoint code (io/checkpoint.cpp writes sets, io/checkpoint_manifest.cpp reads
// them): the manifest format, a manifest as read, and the check of a file it names.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace dilute::io::detail {

constexpr const char* kFormat = "dilute-checkpoint/2";
constexpr const char* kModel = "model.safetensors";
constexpr const char* kOptim = "optim.pt";

std::string hex32(uint32_t v);

/// A manifest as read: where its files are and what they must be.
struct Manifest {
    std::string path;
    bool legacy = false;  // pre-set layout: NAME.safetensors beside NAME.json, no checksums
    std::string set;      // folder name under DIR (sets only)
    struct File {
        std::string path;
        bool checked = false;
        uint64_t bytes = 0;
        uint32_t crc32 = 0;
    };
    File model, optim;
    bool has_optimizer = false;
    nlohmann::json state;
};

/// Reads DIR/NAME.json: its keys (unknown ones refused by name), format, set folder and files.
Manifest readManifest(const std::string& dir, const std::string& name);
/// Throws unless the file exists with the size and CRC-32 the manifest recorded.
void verify(const Manifest::File& f, const std::string& manifest);

}  // namespace dilute::io::detail
