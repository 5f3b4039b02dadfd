// IDX files (MNIST, Fashion-MNIST), gzipped or not, with the standard file names.
#include <algorithm>

#include "data/dataset.h"
#include "data/memory_dataset.h"
#include "util/bytes.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::data {
namespace {

using bytes::be32;

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
    // Each file is read only as far as its header promises (and no further: extra data is an
    // error), so a small file that inflates to gigabytes is refused before it is read.
    const uint64_t limit = fs::memoryLimitBytes();
    size_t n = 0, h = 0, w = 0, nl = 0;
    auto img = fs::readPromisedMaybeGz(
        imgPath, 16,
        [&](const uint8_t* hd) -> uint64_t {
            if (be32(hd) != 0x00000803) throw Error(imgPath + ": not an IDX image file (expected magic 0x00000803)");
            n = be32(hd + 4);
            h = be32(hd + 8);
            w = be32(hd + 12);
            if (h == 0 || w == 0 || h > 4096 || w > 4096)
                throw Error(imgPath + ": implausible image size " + std::to_string(h) + "x" + std::to_string(w));
            return 16 + uint64_t(n) * h * w;  // at most 2^32 * 2^24: no overflow in 64 bits
        },
        limit);
    auto lbl = fs::readPromisedMaybeGz(
        lblPath, 8,
        [&](const uint8_t* hd) -> uint64_t {
            if (be32(hd) != 0x00000801) throw Error(lblPath + ": not an IDX label file (expected magic 0x00000801)");
            nl = be32(hd + 4);
            return 8 + uint64_t(nl);
        },
        limit);
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
