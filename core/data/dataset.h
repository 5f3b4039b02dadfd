#pragma once
// Datasets: random access to (image, label). Images are 8-bit, HWC, RGB or grayscale.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dilute::data {

struct ImageU8 {
    int height = 0, width = 0, channels = 0;
    std::vector<uint8_t> pixels;  // HWC, row-major
    bool bgr = false;             // 3-channel pixels in OpenCV's B, G, R order (converted by the transform)
};

class Dataset {
public:
    virtual ~Dataset() = default;
    virtual size_t size() const = 0;
    virtual int numClasses() const = 0;
    virtual int channels() const = 0;  // native channels (1 or 3)
    virtual int label(size_t i) const = 0;
    /// Decodes image i. Folder datasets may throw dilute::Error for an undecodable file.
    virtual ImageU8 image(size_t i) const = 0;
    virtual std::vector<std::string> classNames() const = 0;
    virtual std::string describe() const = 0;  // e.g. "fashion-mnist test (10000 images, 10 classes)"
    virtual std::string source(size_t i) const { return describe() + " #" + std::to_string(i); }
};

using DatasetPtr = std::shared_ptr<const Dataset>;

/// Opens a dataset URI (see README "Datasets"): fashion-mnist | mnist:DIR | idx:DIR |
/// cifar10:DIR | cifar100:DIR[:coarse] | folder:DIR. Split: train | test | val (alias).
DatasetPtr openDataset(const std::string& uri, const std::string& split);
/// Where the Debian package dataset-fashion-mnist puts the files (or $DILUTE_FASHION_MNIST_DIR).
std::string fashionMnistDir();
/// A view of the first `n` items of `base` (file order).
DatasetPtr limitDataset(DatasetPtr base, size_t n);

// Readers, also usable directly.
DatasetPtr openIdx(const std::string& dir, const std::string& split, const std::string& name,
                   std::vector<std::string> classNames);
DatasetPtr openCifar(const std::string& dir, const std::string& split, bool hundred, bool coarse);
DatasetPtr openFolder(const std::string& dir, const std::string& split);

}  // namespace dilute::data
