#pragma once
// A dataset decoded once into one contiguous buffer (IDX, CIFAR).
#include "data/dataset.h"

namespace dilute::data {

class MemoryDataset : public Dataset {
public:
    MemoryDataset(std::string name, std::vector<uint8_t> pixels, std::vector<int> labels, int h, int w, int c,
                  std::vector<std::string> classes);
    size_t size() const override { return labels_.size(); }
    int numClasses() const override { return static_cast<int>(classes_.size()); }
    int channels() const override { return c_; }
    int label(size_t i) const override { return labels_.at(i); }
    ImageU8 image(size_t i) const override;
    std::vector<std::string> classNames() const override { return classes_; }
    std::string describe() const override;
    /// Direct access for fast paths: HWC pixels of image i.
    const uint8_t* raw(size_t i) const { return pixels_.data() + i * h_ * w_ * c_; }
    int height() const { return h_; }
    int width() const { return w_; }

private:
    std::string name_;
    std::vector<uint8_t> pixels_;
    std::vector<int> labels_;
    int h_, w_, c_;
    std::vector<std::string> classes_;
};

}  // namespace dilute::data
