#pragma once
// The demo's options (`dilute demo`; its table: experiment/optiontable.h). No LibTorch here.
#include <cstdint>
#include <string>

namespace dilute::experiment {

struct DemoOptions {
    std::string out_dir = "runs/demo";
    std::string preset = "vit_nano_patch7_28";
    std::string data = "fashion-mnist";
    bool quick = false;   // a subset and short runs: under 3 minutes, for CI
    std::string compare;  // "" | "random": also dilute randomly chosen blocks
    int base_epochs = 3;
    int dilute_epochs = 3;
    int calib = 2048;
    uint64_t seed = 0;
    std::string device = "auto";
    bool reuse_baseline = true;
};

}  // namespace dilute::experiment
