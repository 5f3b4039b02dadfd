// CIFAR-10 / CIFAR-100, the original binary format.
#include <sstream>

#include "data/dataset.h"
#include "data/memory_dataset.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::data {
namespace {

std::vector<std::string> readNames(const std::string& path, size_t expected) {
    std::vector<std::string> names;
    if (fs::exists(path)) {
        std::istringstream in(fs::readText(path));
        std::string line;
        while (std::getline(in, line))
            if (!line.empty() && line != "\r")
                names.push_back(line.back() == '\r' ? line.substr(0, line.size() - 1) : line);
    }
    if (names.size() != expected) {
        names.clear();
        for (size_t i = 0; i < expected; ++i) names.push_back(std::to_string(i));
    }
    return names;
}

}  // namespace

DatasetPtr openCifar(const std::string& dir, const std::string& split, bool hundred, bool coarse) {
    if (!fs::isDirectory(dir)) throw Error(dir + ": no such folder");
    std::vector<std::string> files;
    if (hundred)
        files.push_back(fs::join(dir, split == "train" ? "train.bin" : "test.bin"));
    else if (split == "train")
        for (int i = 1; i <= 5; ++i) files.push_back(fs::join(dir, "data_batch_" + std::to_string(i) + ".bin"));
    else
        files.push_back(fs::join(dir, "test_batch.bin"));
    const size_t labelBytes = hundred ? 2 : 1, imgBytes = 3072, rec = labelBytes + imgBytes;
    const int classes = hundred ? (coarse ? 20 : 100) : 10;
    std::vector<uint8_t> pixels;
    std::vector<int> labels;
    for (const auto& f : files) {
        if (!fs::exists(f)) throw Error(f + ": missing CIFAR file");
        auto bytes = fs::readMaybeGz(f);
        if (bytes.empty() || bytes.size() % rec != 0)
            throw Error(f + ": not a CIFAR-" + std::string(hundred ? "100" : "10") + " binary file (size " +
                        std::to_string(bytes.size()) + " is not a multiple of the " + std::to_string(rec) +
                        "-byte record; truncated?)");
        const size_t n = bytes.size() / rec;
        pixels.reserve(pixels.size() + n * imgBytes);
        for (size_t i = 0; i < n; ++i) {
            const uint8_t* r = bytes.data() + i * rec;
            const int lab = hundred ? (coarse ? r[0] : r[1]) : r[0];
            if (lab >= classes)
                throw Error(f + ": label " + std::to_string(lab) + " of record " + std::to_string(i) +
                            " is out of range [0, " + std::to_string(classes) + ")");
            labels.push_back(lab);
            const uint8_t* p = r + labelBytes;  // planar R, G, B -> HWC
            for (int y = 0; y < 32; ++y)
                for (int x = 0; x < 32; ++x)
                    for (int c = 0; c < 3; ++c) pixels.push_back(p[c * 1024 + y * 32 + x]);
        }
    }
    std::string metaName = hundred ? (coarse ? "coarse_label_names.txt" : "fine_label_names.txt") : "batches.meta.txt";
    auto names = readNames(fs::join(dir, metaName), classes);
    return std::make_shared<MemoryDataset>(std::string(hundred ? "cifar100" : "cifar10") + " " + split,
                                           std::move(pixels), std::move(labels), 32, 32, 3, std::move(names));
}

}  // namespace dilute::data
