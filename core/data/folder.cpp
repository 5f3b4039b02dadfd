// ImageNet-style folders: one sub-folder per class (sorted names), train/ and val/ splits when present.
// Images are decoded lazily: JPEGs with libjpeg-turbo directly (data/jpeg.h: same pixels as OpenCV,
// less than half the cost, and only the rows a random crop needs), everything else with OpenCV.
// An undecodable file throws; the loader skips and counts it.
#if DILUTE_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

#include <algorithm>
#include <filesystem>

#include "data/dataset.h"
#include "data/jpeg.h"
#include "data/limits.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::data {
#if DILUTE_WITH_OPENCV
namespace stdfs = std::filesystem;
namespace {

bool isImage(const stdfs::path& p) {
    std::string e = p.extension().string();
    std::transform(e.begin(), e.end(), e.begin(), ::tolower);
    return e == ".jpg" || e == ".jpeg" || e == ".png" || e == ".bmp" || e == ".webp";
}

class FolderDataset : public Dataset {
public:
    FolderDataset(std::string root, std::string name) : root_(std::move(root)), name_(std::move(name)) {
        std::vector<std::string> classes;
        for (const auto& e : stdfs::directory_iterator(root_))
            if (e.is_directory()) classes.push_back(e.path().filename().string());
        std::sort(classes.begin(), classes.end());
        if (classes.empty()) throw Error(root_ + ": no class sub-folders (expected one folder per class)");
        for (size_t c = 0; c < classes.size(); ++c) {
            const auto dir = stdfs::path(root_) / classes[c];
            std::vector<std::string> files;
            for (const auto& e : stdfs::directory_iterator(dir))
                if (e.is_regular_file() && isImage(e.path())) files.push_back(e.path().string());
            if (files.empty()) throw Error(dir.string() + ": empty class folder (no .jpg/.jpeg/.png/.bmp/.webp files)");
            std::sort(files.begin(), files.end());
            for (auto& f : files) {
                files_.push_back(std::move(f));
                labels_.push_back(static_cast<int>(c));
            }
        }
        classes_ = std::move(classes);
    }
    size_t size() const override { return files_.size(); }
    int numClasses() const override { return static_cast<int>(classes_.size()); }
    int channels() const override { return 3; }
    int label(size_t i) const override { return labels_.at(i); }
    std::vector<std::string> classNames() const override { return classes_; }
    std::string describe() const override {
        return name_ + " (" + std::to_string(size()) + " images, " + std::to_string(numClasses()) + " classes)";
    }
    std::string source(size_t i) const override { return files_.at(i); }
    ImageU8 image(size_t i) const override { return decode(i, nullptr); }
    ImageU8 imageRows(size_t i, const RowChooser& choose) const override { return decode(i, choose); }

private:
    std::string root_, name_;
    std::vector<std::string> files_, classes_;
    std::vector<int> labels_;

    ImageU8 decode(size_t i, const RowChooser& choose) const {
        const std::string& file = files_.at(i);
        const std::vector<uint8_t> bytes = fs::readBytes(file);
        if (bytes.empty()) throw Error(file + ": empty file");
        ImageU8 im;
        if (looksLikeJpeg(bytes.data(), bytes.size()) && decodeJpeg(bytes.data(), bytes.size(), file, choose, im))
            return im;
        int64_t w = 0, h = 0;
        if (headerSize(bytes.data(), bytes.size(), &w, &h)) checkImageSize(file, w, h);
        cv::Mat m;
        try {
            m = cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8U, const_cast<uint8_t*>(bytes.data())),
                             cv::IMREAD_COLOR);
        } catch (const cv::Exception& e) {
            throw Error(file + ": cannot decode image (" + e.what() + ")");
        }
        if (m.empty()) throw Error(file + ": cannot decode image");
        im.bgr = true;  // the transform reorders channels as it normalizes: no extra pass
        im.height = m.rows;
        im.width = m.cols;
        im.channels = 3;
        im.pixels.assign(m.data, m.data + m.total() * 3);
        if (choose) choose(m.cols, m.rows);
        return im;
    }
};

}  // namespace

DatasetPtr openFolder(const std::string& dir, const std::string& split) {
    if (!fs::isDirectory(dir)) throw Error(dir + ": no such folder");
    std::vector<std::string> candidates;
    if (split == "train")
        candidates = {"train"};
    else
        candidates = {split, split == "val" ? "test" : "val"};
    for (const auto& c : candidates) {
        const auto p = fs::join(dir, c);
        if (fs::isDirectory(p)) return std::make_shared<FolderDataset>(p, "folder " + split);
    }
    // No split folders: the root holds the classes and serves every split.
    return std::make_shared<FolderDataset>(dir, "folder " + split);
}

#else  // a build without OpenCV (DILUTE_WITH_OPENCV=OFF: the GPU machine's core build)

DatasetPtr openFolder(const std::string& dir, const std::string&) {
    throw Error("folder:" + dir +
                ": image folders need a build with OpenCV and libjpeg-turbo (DILUTE_WITH_OPENCV=ON); "
                "this build reads IDX and CIFAR datasets only");
}

#endif
}  // namespace dilute::data
