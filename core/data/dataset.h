#pragma once
// Datasets: random access to (image, label). Images are 8-bit, HWC, RGB or grayscale.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dilute::data {

struct ImageU8 {
    int height = 0, width = 0, channels = 0;
    std::vector<uint8_t> pixels;  // HWC, row-major
    bool bgr = false;             // 3-channel pixels in OpenCV's B, G, R order (converted by the transform)
    // A band of rows of a taller image (see Dataset::imageRows): `pixels` hold rows
    // [top, top + height) of an image full_height rows tall. full_height 0: the whole image.
    int top = 0, full_height = 0;
    int fullHeight() const { return full_height > 0 ? full_height : height; }
    bool whole() const { return top == 0 && fullHeight() == height; }
};

/// Given an image's full size, the rows the caller will read: {first row, row count}.
using RowChooser = std::function<std::pair<int, int>(int width, int height)>;

class Dataset {
public:
    virtual ~Dataset() = default;
    virtual size_t size() const = 0;
    virtual int numClasses() const = 0;
    virtual int channels() const = 0;  // native channels (1 or 3)
    virtual int label(size_t i) const = 0;
    /// Decodes image i. Folder datasets may throw dilute::Error for an undecodable file.
    virtual ImageU8 image(size_t i) const = 0;
    /// Decodes image i, calling `choose` once with its full size. Datasets that can decode part
    /// of an image (JPEG files) decode only the rows `choose` asks for; the others return it all.
    virtual ImageU8 imageRows(size_t i, const RowChooser& choose) const {
        ImageU8 im = image(i);
        choose(im.width, im.height);
        return im;
    }
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

/// Accuracy needs the model's own head: throws dilute::Error naming both class counts when
/// `modelClasses` (of `model`) differs from `ds`'s. Training gives a model a new head instead.
void requireClassCount(int modelClasses, const std::string& model, const Dataset& ds);
/// A class-stratified, seeded sample of `n` items of `base` (all of it when n >= its size), in
/// index order: every class gets n / K items or one more (the extras go to the classes a seeded
/// shuffle puts first); a class with fewer items gives all it has and the rest is shared among
/// the others; within a class, a seeded random choice. Labels are read, images are not.
/// `perClass` (optional) receives the count taken from each class.
DatasetPtr stratifiedSample(DatasetPtr base, size_t n, uint64_t seed, std::vector<size_t>* perClass = nullptr);

// Readers, also usable directly.
DatasetPtr openIdx(const std::string& dir, const std::string& split, const std::string& name,
                   std::vector<std::string> classNames);
DatasetPtr openCifar(const std::string& dir, const std::string& split, bool hundred, bool coarse);
DatasetPtr openFolder(const std::string& dir, const std::string& split);

}  // namespace dilute::data
