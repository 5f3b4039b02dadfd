#pragma once
// Options of the benchmark and of the export-and-measure job (no LibTorch here, so the GUI
// headers can use them). Their option tables: bench/optiontable.h.
#include <cstddef>
#include <string>

#include "io/modelref.h"

namespace dilute::bench {

struct BenchOptions {
    int batch = 32;
    std::string device = "cpu";
    int warmup = 2;
    int repeats = 7;                 // timed throughput repeats (median)
    int latency_runs = 30;           // batch-1 forward passes (p50 / p95)
    int rounds = 3;                  // alternations A, B, A, B, ... (with --vs)
    std::string precision = "fp32";  // fp32 (TF32 off) | bf16 | fp16 (CUDA autocast)
};

/// `dilute bench`: model A (and how both are opened), and B: another model, or A with the
/// attention of some blocks removed (an analytic what-if).
struct BenchJobOptions : io::ModelRef {
    std::string vs;      // model B, measured alternately with A
    std::string remove;  // B = A minus the attention of these blocks ("0,2,4")
    BenchOptions bench;
};

struct MeasureOptions {
    std::string run;              // run folder (or weights file) whose diluted blocks are removed
    std::string out_dir;          // writes pruned.safetensors, pruned.pt, pruned.onnx, timm/ and measure.json here
    std::string baseline;         // the full model compared against (run folder, weights file or preset; "" = the run)
    std::string data;             // dataset URI for accuracy ("" = the model's default)
    std::string device = "auto";  // evaluation and benchmark
    size_t eval_images = 2000;    // first N test images for top-1 (0 = skip the evaluation)
    bool onnx = DILUTE_WITH_ONNX != 0;  // also pruned.onnx (opset 17), when the build writes ONNX
    bool timm = true;                   // also timm/: a timm hub folder + dilute_vit.py
    BenchOptions bench;                 // batch, repeats, latency runs, rounds (device is set from `device`)
};

}  // namespace dilute::bench
