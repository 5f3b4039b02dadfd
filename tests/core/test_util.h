#pragma once
// Helpers shared by the core tests: scratch folders, small file writers, error messages.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include "util/error.h"

namespace dilute::testing {

/// A fresh folder under the build tree, removed when the object dies.
class TempDir {
public:
    explicit TempDir(const std::string& tag) {
        path_ = (std::filesystem::temp_directory_path() /
                 ("dilute-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++)))
                    .string();
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }

private:
    static int& counter() {
        static int c = 0;
        return c;
    }
    std::string path_;
};

inline void writeBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/// An IDX image/label pair (the MNIST format) with n images of h x w pixels whose bytes are
/// i * 7, and the given labels; `truncateImages` bytes are left off the image file.
inline void writeIdx(const std::string& dir, const std::string& prefix, int n, int h, int w,
                     std::vector<uint8_t> labels, int truncateImages = 0) {
    auto be32 = [](uint32_t v) {
        return std::vector<uint8_t>{uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
    };
    std::vector<uint8_t> img = be32(0x803), lab = be32(0x801);
    for (auto v : {be32(uint32_t(n)), be32(uint32_t(h)), be32(uint32_t(w))}) img.insert(img.end(), v.begin(), v.end());
    for (int i = 0; i < n * h * w - truncateImages; ++i) img.push_back(uint8_t(i * 7));
    auto nl = be32(static_cast<uint32_t>(labels.size()));
    lab.insert(lab.end(), nl.begin(), nl.end());
    lab.insert(lab.end(), labels.begin(), labels.end());
    writeBytes(dir + "/" + prefix + "-images-idx3-ubyte", img);
    writeBytes(dir + "/" + prefix + "-labels-idx1-ubyte", lab);
}

inline std::vector<uint8_t> readBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// The message of the dilute::Error `f` throws; "" when it throws none.
inline std::string errorText(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

inline bool fashionMnistInstalled() {
    const char* dir = std::getenv("DILUTE_FASHION_MNIST_DIR");  // the GPU machine: the bundle's subset
    return std::filesystem::exists(dir && *dir ? dir : "/usr/share/datasets/fashion-mnist");
}

}  // namespace dilute::testing
