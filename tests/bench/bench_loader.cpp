// Loader throughput: Fashion-MNIST (in memory) and a generated folder of 2,000 JPEGs at 224x224
// (decode + random-resized-crop + flip + normalize) with 1 and 2 workers, against OpenCV decode
// alone on one thread as the ceiling, and against Dilute's own JPEG decode alone (data/jpeg.h:
// libjpeg-turbo straight to RGB, whole image) as a stricter one. The loader decodes only the rows
// each random crop uses. Rates are steady state: the median of epochs 2-4 of one loader
// (the first epoch, which pays the page faults of new batch buffers, is printed beside it).
// Run: build/tests/bench/bench_loader [folder_images]
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include "data/dataset.h"
#include "data/loader.h"
#include "model/preset.h"
#include "util/runtime.h"

using namespace dilute;
namespace stdfs = std::filesystem;

// One loader, `epochs` epochs: the first epoch pays the page faults of fresh batch buffers (a training
// run pays them once); the steady rate is the median of the later epochs.
struct Rates {
    double first = 0, steady = 0;
};
static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}
static Rates epochRates(data::DatasetPtr ds, const data::TransformConfig& t, int workers, int batch, int epochs = 4) {
    data::LoaderOptions o;
    o.batch_size = batch;
    o.workers = workers;
    o.shuffle = true;
    data::Loader l(ds, t, o);
    std::vector<double> rates;
    for (int e = 0; e < epochs; ++e) {
        l.startEpoch(e);
        data::Batch b;
        long long n = 0;
        const auto t0 = std::chrono::steady_clock::now();
        while (l.next(b)) n += b.images.size(0);
        rates.push_back(n / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return {rates.front(), median(std::vector<double>(rates.begin() + 1, rates.end()))};
}

int main(int argc, char** argv) {
    dilute::setThreads(0);
    const int nimg = argc > 1 ? std::atoi(argv[1]) : 2000;
    auto nano = model::preset("vit_nano_patch7_28");
    auto fm = data::openDataset("fashion-mnist", "train");
    std::printf("Fashion-MNIST train (60,000 in memory, flip + normalize), batch 256\n");
    for (int w : {1, 2}) {
        const auto r = epochRates(fm, data::trainTransform(nano, "flip"), w, 256);
        std::printf("  %d worker(s): %10.0f images/s (first epoch %.0f)\n", w, r.steady, r.first);
    }

    const auto dir = stdfs::temp_directory_path() / "dilute-bench-jpegs";
    if (!stdfs::exists(dir / "train" / "c9" / ("img" + std::to_string(nimg / 10 - 1) + ".jpg"))) {
        std::mt19937 rng(0);
        for (int i = 0; i < nimg; ++i) {
            const auto cls = dir / "train" / ("c" + std::to_string(i % 10));
            stdfs::create_directories(cls);
            cv::Mat m(224, 224, CV_8UC3);
            cv::randu(m, 0, 255);
            cv::GaussianBlur(m, m, cv::Size(9, 9), 3);
            cv::circle(m, cv::Point(rng() % 224, rng() % 224), 20 + rng() % 60, cv::Scalar(rng() % 255, 90, 200), -1);
            cv::imwrite((cls / ("img" + std::to_string(i / 10) + ".jpg")).string(), m, {cv::IMWRITE_JPEG_QUALITY, 90});
        }
    }
    auto folder = data::openDataset("folder:" + dir.string(), "train");
    std::vector<std::string> files;
    for (size_t i = 0; i < folder->size(); ++i) files.push_back(folder->source(i));
    std::vector<double> passes;  // the ceiling: median of three passes after a warm-up pass
    for (int pass = 0; pass < 4; ++pass) {
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& f : files) (void)cv::imread(f, cv::IMREAD_COLOR);
        if (pass > 0)
            passes.push_back(files.size() /
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    const double decode = median(passes);
    // Dilute's own JPEG path (libjpeg-turbo straight to RGB, whole image, same pixels): a stricter ceiling.
    passes.clear();
    for (int pass = 0; pass < 4; ++pass) {
        const auto t0 = std::chrono::steady_clock::now();
        for (size_t i = 0; i < folder->size(); ++i) (void)folder->image(i);
        if (pass > 0)
            passes.push_back(files.size() /
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    const double own = median(passes);
    auto deit = model::preset("deit_tiny_patch16_224");
    auto t = data::trainTransform(deit, "rrc+flip");
    std::printf("\nfolder of %zu JPEGs 224x224 -> decode + random-resized-crop 224 + flip + normalize, batch 64\n",
                files.size());
    std::printf("  OpenCV decode alone, 1 thread (ceiling): %8.0f images/s\n", decode);
    std::printf("  Dilute JPEG decode alone, 1 thread:      %8.0f images/s (whole image, same pixels)\n", own);
    double two = 0;
    for (int w : {1, 2}) {
        const auto r = epochRates(folder, t, w, 64);
        if (w == 2) two = r.steady;
        std::printf("  loader, %d worker(s):                    %8.0f images/s (first epoch %.0f)\n", w, r.steady,
                    r.first);
    }
    std::printf("  2 workers reach %.0f%% of 2x the OpenCV decode ceiling (target >= 80%%)\n",
                100.0 * two / (2 * decode));
    std::printf("  and %.0f%% of 2x Dilute's own whole-image decode\n", 100.0 * two / (2 * own));
    return 0;
}
