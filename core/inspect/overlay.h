#pragma once
// PNG overlays of the inspection (OpenCV's colour maps): per image, the rollout over the image
// and the blocks x heads grid of class-token maps.
#include <string>
#include <vector>

#include "inspect/results.h"

namespace dilute::inspect {

/// Writes DIR/overlays/NNN-rollout.png and (with a class token) NNN-heads.png for the first
/// `count` images, each atomically; returns the paths written, relative to DIR. Builds without
/// OpenCV write nothing and return an empty list.
std::vector<std::string> writeOverlays(const std::string& dir, const InspectResult& r, int count);

/// A map of P = grid x grid values as a heat image over `rgb` (t x t x 3): min-max scaled, JET,
/// blended half and half, RGB bytes (t x t x 3). NaN maps (a removed block) give the image greyed.
std::vector<unsigned char> overlayMap(const unsigned char* rgb, int t, const float* map, int grid);

}  // namespace dilute::inspect
