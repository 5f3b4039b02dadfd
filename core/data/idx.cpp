// IDX files (MNIST, Fashion-MNIST), gzipped or not, with the standard file names.
#include <algorithm>

#include "data/dataset.h"
#include "data/memory_dataset.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::data {
namespace {

uint32_t be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }

std::string findFile(const std::string& dir, const std::string& stem) {
    for (const char* ext : {".gz", ""}) {
        const auto p = fs::join(dir, stem + ext);
        if (fs::exists(p)) return p;
    }
    // Some mirrors use dots instead of dashes (train-images.idx3-ubyte).
    std::string dotted = stem;
    const auto pos = dotted.rfind("-idx");
    if (pos != std::string::npos) dotted[pos] = '.';
    for (const char* ext : {".gz", ""}) {
        const auto p = fs::join(dir, dotted + ext);
        if (fs::exists(p)) return p;
    }
    throw Error(fs::join(dir, stem) + "[.gz]: missing IDX file");
}

}  // namespace

DatasetPtr openIdx(const std::string& dir, const std::string& split, const std::string& name,
                   std::vector<std::string> classNames) {
    if (!fs::isDirectory(dir)) throw Error(dir + ": no such folder");
    const std::string prefix = (split == "train") ? "train" : "t10k";
    const auto imgPath = findFile(dir, prefix + "-images-idx3-ubyte");
    const auto lblPath = findFile(dir, prefix + "-labels-idx1-ubyte");
    auto img = fs::readMaybeGz(imgPath);
    auto lbl = fs::readMaybeGz(lblPath);
    if (img.size() < 16 || be32(img.data()) != 0x00000803)
        throw Error(imgPath + ": not an IDX image file (expected magic 0x00000803)");
    if (lbl.size() < 8 || be32(lbl.data()) != 0x00000801)
        throw Error(lblPath + ": not an IDX label file (expected magic 0x00000801)");
    const size_t n = be32(img.data() + 4), h = be32(img.data() + 8), w = be32(img.data() + 12);
    const size_t nl = be32(lbl.data() + 4);
    if (h == 0 || w == 0 || h > 4096 || w > 4096) throw Error(imgPath + ": implausible image size");
    if (img.size() - 16 < n * h * w)
        throw Error(imgPath + ": truncated: header says " + std::to_string(n) + " images of " + std::to_string(h) + "x" +
                    std::to_string(w) + " but the file holds " + std::to_string((img.size() - 16) / (h * w)));
    if (lbl.size() - 8 < nl) throw Error(lblPath + ": truncated: header says " + std::to_string(nl) + " labels");
    if (n != nl)
        throw Error(imgPath + ": " + std::to_string(n) + " images but " + lblPath + " has " + std::to_string(nl) +
                    " labels");
    const int classes = classNames.empty() ? 10 : static_cast<int>(classNames.size());
    std::vector<int> labels(n);
    for (size_t i = 0; i < n; ++i) {
        labels[i] = lbl[8 + i];
        if (labels[i] >= classes)
            throw Error(lblPath + ": label " + std::to_string(labels[i]) + " of item " + std::to_string(i) +
                        " is out of range [0, " + std::to_string(classes) + ")");
    }
    if (classNames.empty())
        for (int c = 0; c < classes; ++c) classNames.push_back(std::to_string(c));
    std::vector<uint8_t> pixels(img.begin() + 16, img.begin() + 16 + n * h * w);
    return std::make_shared<MemoryDataset>(name + " " + split, std::move(pixels), std::move(labels), int(h), int(w), 1,
                                           std::move(classNames));
}

}  // namespace dilute::data
