#pragma once
// Limits that keep one hostile image from taking the machine: an image whose header promises
// more pixels than this is skipped and reported like any undecodable image, before decoding.
#include <cstdint>
#include <string>

namespace dilute::data {

constexpr uint64_t kDefaultMaxImagePixels = 100'000'000;  // 100 MP: 300 MB decoded, RGB

uint64_t maxImagePixels();
/// Also sets OpenCV's own decoder limit (OPENCV_IO_MAX_IMAGE_PIXELS) when it has not read it yet.
void setMaxImagePixels(uint64_t pixels);
/// Throws dilute::Error naming `file` when width x height is over the limit (or not positive).
void checkImageSize(const std::string& file, int64_t width, int64_t height);
/// Width and height from a PNG or BMP header (false for other formats or a short header).
bool headerSize(const uint8_t* data, size_t size, int64_t* width, int64_t* height);

}  // namespace dilute::data
