#include "inspect/overlay.h"

#include <cmath>

#include "util/files.h"

#if DILUTE_WITH_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace dilute::inspect {

std::vector<unsigned char> overlayMap(const unsigned char* rgb, int t, const float* map, int grid) {
    std::vector<unsigned char> out(rgb, rgb + size_t(t) * t * 3);
#if DILUTE_WITH_OPENCV
    float lo = INFINITY, hi = -INFINITY;
    for (int p = 0; p < grid * grid; ++p)
        if (std::isfinite(map[p])) lo = std::min(lo, map[p]), hi = std::max(hi, map[p]);
    cv::Mat img(t, t, CV_8UC3, out.data());
    if (!(lo <= hi)) {  // no attention: the image greyed
        cv::Mat grey;
        cv::cvtColor(img, grey, cv::COLOR_RGB2GRAY);
        cv::cvtColor(grey / 2 + 64, img, cv::COLOR_GRAY2RGB);
        return out;
    }
    cv::Mat small(grid, grid, CV_8UC1);
    for (int p = 0; p < grid * grid; ++p)
        small.data[p] = static_cast<unsigned char>(hi > lo ? std::lround(255.0 * (map[p] - lo) / (hi - lo)) : 0);
    cv::Mat big, heat;
    cv::resize(small, big, cv::Size(t, t), 0, 0, cv::INTER_NEAREST);
    cv::applyColorMap(big, heat, cv::COLORMAP_JET);  // BGR
    cv::cvtColor(heat, heat, cv::COLOR_BGR2RGB);
    cv::addWeighted(img, 0.5, heat, 0.5, 0.0, img);
#endif
    return out;
}

#if DILUTE_WITH_OPENCV
namespace {
constexpr int kCell = 96;  // pixels per map in the PNGs

cv::Mat cellOf(const InspectResult& r, size_t n, const float* map) {
    const unsigned char* rgb = r.thumbnails.data() + n * size_t(r.thumb) * r.thumb * 3;
    auto px = map ? overlayMap(rgb, r.thumb, map, r.grid)
                  : std::vector<unsigned char>(rgb, rgb + size_t(r.thumb) * r.thumb * 3);
    cv::Mat m(r.thumb, r.thumb, CV_8UC3, px.data()), big;
    cv::resize(m, big, cv::Size(kCell, kCell), 0, 0, cv::INTER_LINEAR);
    cv::cvtColor(big, big, cv::COLOR_RGB2BGR);
    return big;
}

void writePng(const std::string& path, const cv::Mat& m) {
    std::vector<unsigned char> buf;
    cv::imencode(".png", m, buf);
    fs::atomicWriteBytes(path, buf.data(), buf.size());
}
}  // namespace
#endif

std::vector<std::string> writeOverlays(const std::string& dir, const InspectResult& r, int count) {
    std::vector<std::string> written;
#if DILUTE_WITH_OPENCV
    const size_t n = std::min(r.count(), size_t(std::max(count, 0)));
    if (n == 0) return written;
    fs::makeDirs(fs::join(dir, "overlays"));
    for (size_t i = 0; i < n; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "%03zu", i);
        cv::Mat pair;
        cv::hconcat(cellOf(r, i, nullptr), cellOf(r, i, r.rolloutMap(i)), pair);
        const std::string roll = std::string("overlays/") + name + "-rollout.png";
        writePng(fs::join(dir, roll), pair);
        written.push_back(roll);
        if (r.cls.empty()) continue;
        cv::Mat grid(r.depth * kCell, r.heads * kCell, CV_8UC3);
        for (int l = 0; l < r.depth; ++l)
            for (int h = 0; h < r.heads; ++h)
                cellOf(r, i, r.clsMap(i, l, h)).copyTo(grid(cv::Rect(h * kCell, l * kCell, kCell, kCell)));
        const std::string heads = std::string("overlays/") + name + "-heads.png";
        writePng(fs::join(dir, heads), grid);
        written.push_back(heads);
    }
#else
    (void)dir, (void)r, (void)count;
#endif
    return written;
}

}  // namespace dilute::inspect
