// Dataset URIs: one syntax for the CLI, the GUI and config files.
#include <cstdlib>

#include "data/dataset.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::data {
namespace {

class LimitedDataset : public Dataset {
public:
    LimitedDataset(DatasetPtr base, size_t n) : base_(std::move(base)), n_(std::min(n, base_->size())) {}
    size_t size() const override { return n_; }
    int numClasses() const override { return base_->numClasses(); }
    int channels() const override { return base_->channels(); }
    int label(size_t i) const override { return base_->label(i); }
    ImageU8 image(size_t i) const override { return base_->image(i); }
    ImageU8 imageRows(size_t i, const RowChooser& choose) const override { return base_->imageRows(i, choose); }
    std::vector<std::string> classNames() const override { return base_->classNames(); }
    std::string describe() const override { return base_->describe() + ", first " + std::to_string(n_); }
    std::string source(size_t i) const override { return base_->source(i); }
    const Dataset& base() const { return *base_; }

private:
    DatasetPtr base_;
    size_t n_;
};

const std::vector<std::string> kFashionNames{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                             "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
const std::vector<std::string> kDigits{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

}  // namespace

std::string fashionMnistDir() {
    if (const char* env = std::getenv("DILUTE_FASHION_MNIST_DIR")) return env;
    return "/usr/share/datasets/fashion-mnist";
}

DatasetPtr limitDataset(DatasetPtr base, size_t n) {
    if (n == 0 || n >= base->size()) return base;
    return std::make_shared<LimitedDataset>(std::move(base), n);
}

DatasetPtr openDataset(const std::string& uri, const std::string& splitIn) {
    std::string split = splitIn.empty() ? "train" : splitIn;
    if (split != "train" && split != "test" && split != "val")
        throw Error("split '" + split + "': expected train, test or val");
    const auto colon = uri.find(':');
    const std::string scheme = uri.substr(0, colon);
    std::string arg = colon == std::string::npos ? "" : uri.substr(colon + 1);
    const std::string idxSplit = split == "train" ? "train" : "test";
    if (scheme == "fashion-mnist") {
        const std::string dir = arg.empty() ? fashionMnistDir() : arg;
        if (arg.empty() && !std::getenv("DILUTE_FASHION_MNIST_DIR") && !fs::isDirectory(dir))
            throw Error(dir + ": Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        return openIdx(dir, idxSplit, "fashion-mnist", kFashionNames);
    }
    if (arg.empty())
        throw Error("dataset '" + uri +
                    "': expected fashion-mnist, mnist:DIR, idx:DIR, cifar10:DIR, cifar100:DIR[:coarse] or folder:DIR");
    if (scheme == "mnist") return openIdx(arg, idxSplit, "mnist", kDigits);
    if (scheme == "idx") return openIdx(arg, idxSplit, "idx", kDigits);
    if (scheme == "cifar10") return openCifar(arg, idxSplit, false, false);
    if (scheme == "cifar100") {
        bool coarse = false;
        if (arg.size() > 7 && arg.compare(arg.size() - 7, 7, ":coarse") == 0) {
            coarse = true;
            arg.resize(arg.size() - 7);
        } else if (arg.size() > 5 && arg.compare(arg.size() - 5, 5, ":fine") == 0) {
            arg.resize(arg.size() - 5);
        }
        return openCifar(arg, idxSplit, true, coarse);
    }
    if (scheme == "folder") return openFolder(arg, split);
    throw Error("dataset '" + uri + "': unknown scheme '" + scheme + "'");
}

}  // namespace dilute::data
