#include "data/memory_dataset.h"

#include "util/error.h"

namespace dilute::data {

MemoryDataset::MemoryDataset(std::string name, std::vector<uint8_t> pixels, std::vector<int> labels, int h, int w,
                             int c, std::vector<std::string> classes)
    : name_(std::move(name)),
      pixels_(std::move(pixels)),
      labels_(std::move(labels)),
      h_(h),
      w_(w),
      c_(c),
      classes_(std::move(classes)) {}

ImageU8 MemoryDataset::image(size_t i) const {
    if (i >= size()) throw Error(name_ + ": index " + std::to_string(i) + " out of range");
    ImageU8 im;
    im.height = h_;
    im.width = w_;
    im.channels = c_;
    const uint8_t* p = raw(i);
    im.pixels.assign(p, p + size_t(h_) * w_ * c_);
    return im;
}

std::string MemoryDataset::describe() const {
    return name_ + " (" + std::to_string(size()) + " images " + std::to_string(w_) + "x" + std::to_string(h_) + "x" +
           std::to_string(c_) + ", " + std::to_string(numClasses()) + " classes)";
}

}  // namespace dilute::data
