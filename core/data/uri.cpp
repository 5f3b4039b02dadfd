// Dataset URIs: one syntax for the CLI, the GUI and config files.
#include <algorithm>
#include <cstdlib>
#include <random>

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

class SubsetDataset : public Dataset {
public:
    SubsetDataset(DatasetPtr base, std::vector<size_t> idx, std::string what)
        : base_(std::move(base)), idx_(std::move(idx)), what_(std::move(what)) {}
    size_t size() const override { return idx_.size(); }
    int numClasses() const override { return base_->numClasses(); }
    int channels() const override { return base_->channels(); }
    int label(size_t i) const override { return base_->label(idx_.at(i)); }
    ImageU8 image(size_t i) const override { return base_->image(idx_.at(i)); }
    ImageU8 imageRows(size_t i, const RowChooser& choose) const override {
        return base_->imageRows(idx_.at(i), choose);
    }
    std::vector<std::string> classNames() const override { return base_->classNames(); }
    std::string describe() const override { return base_->describe() + ", " + what_; }
    std::string source(size_t i) const override { return base_->source(idx_.at(i)); }

private:
    DatasetPtr base_;
    std::vector<size_t> idx_;
    std::string what_;
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

DatasetPtr stratifiedSample(DatasetPtr base, size_t n, uint64_t seed, std::vector<size_t>* perClass) {
    const int K = base->numClasses();
    if (K <= 0) throw Error(base->describe() + ": no classes to stratify by");
    std::vector<std::vector<size_t>> byClass(static_cast<size_t>(K));
    for (size_t i = 0; i < base->size(); ++i) {
        const int y = base->label(i);
        if (y < 0 || y >= K)
            throw Error(base->source(i) + ": label " + std::to_string(y) + " outside 0.." + std::to_string(K - 1));
        byClass[size_t(y)].push_back(i);
    }
    std::vector<size_t> quota(static_cast<size_t>(K), 0);
    if (n >= base->size()) {
        for (int k = 0; k < K; ++k) quota[size_t(k)] = byClass[size_t(k)].size();
    } else {
        // Water-filling: equal shares; a class that cannot fill its share gives all it has.
        std::mt19937_64 rng(seed ^ 0x5741f1ed5ULL);
        std::vector<int> open;
        for (int k = 0; k < K; ++k)
            if (!byClass[size_t(k)].empty()) open.push_back(k);
        std::shuffle(open.begin(), open.end(), rng);  // who gets the extra items
        size_t left = n;
        while (left > 0 && !open.empty()) {
            const size_t share = left / open.size(), extra = left % open.size();
            std::vector<int> full, rest;
            for (size_t j = 0; j < open.size(); ++j) {
                const int k = open[j];
                const size_t want = share + (j < extra ? 1 : 0);
                const size_t room = byClass[size_t(k)].size() - quota[size_t(k)];
                if (room <= want)
                    full.push_back(k);
                else
                    rest.push_back(k);
            }
            if (full.empty()) {
                for (size_t j = 0; j < open.size(); ++j) quota[size_t(open[j])] += share + (j < extra ? 1 : 0);
                left = 0;
            } else {
                for (int k : full) {
                    left -= byClass[size_t(k)].size() - quota[size_t(k)];
                    quota[size_t(k)] = byClass[size_t(k)].size();
                }
                open = rest;
            }
        }
    }
    std::vector<size_t> idx;
    idx.reserve(std::min(n, base->size()));
    for (int k = 0; k < K; ++k) {
        auto& v = byClass[size_t(k)];
        const size_t q = quota[size_t(k)];
        std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + uint64_t(k) + 1);
        for (size_t i = 0; i < q; ++i) {  // partial Fisher-Yates: q distinct items of the class
            std::uniform_int_distribution<size_t> pick(i, v.size() - 1);
            std::swap(v[i], v[pick(rng)]);
        }
        idx.insert(idx.end(), v.begin(), v.begin() + static_cast<std::ptrdiff_t>(q));
    }
    std::sort(idx.begin(), idx.end());
    if (perClass) *perClass = quota;
    return std::make_shared<SubsetDataset>(std::move(base), std::move(idx),
                                           "class-stratified sample (seed " + std::to_string(seed) + ")");
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

void requireClassCount(int modelClasses, const std::string& model, const Dataset& ds) {
    if (modelClasses == ds.numClasses()) return;
    throw Error(model + ": the model classifies " + std::to_string(modelClasses) + " classes but " + ds.describe() +
                " has " + std::to_string(ds.numClasses()) +
                "; accuracy needs the model's own head (dilute train fine-tunes it with a new head for this data)");
}

}  // namespace dilute::data
