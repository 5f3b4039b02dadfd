#pragma once
// Shared by the fuzz targets: the readers take paths, so each input is written to a scratch
// folder of this process first. A reader may refuse an input only with dilute::Error; anything
// else escaping (c10::Error, std::bad_alloc, out_of_range...) aborts and is a finding.
#include <unistd.h>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace dilute::fuzz {

inline const std::string& scratch() {
    static const std::string dir = [] {
        auto d = std::filesystem::temp_directory_path() / ("dilute-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d.string();
    }();
    return dir;
}

inline std::string writeFile(const std::string& name, const uint8_t* data, size_t size) {
    const std::string path = scratch() + "/" + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    if (size && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
    return path;
}

/// A fresh empty folder under the scratch folder.
inline std::string freshDir(const std::string& name) {
    const std::string d = scratch() + "/" + name;
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
}

}  // namespace dilute::fuzz
