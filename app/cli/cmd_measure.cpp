// dilute measure: the workbench's Export view as a command: export a dilution run's pruned model
// (safetensors + TorchScript), evaluate full and pruned on the test split, benchmark both
// alternately, on the chosen device; writes measure.json beside the exported files. The job is
// core's (bench/measure.h), run by the CLI's generic adapter (cli/jobcommand.h); this prints.
#include <cstdio>

#include "bench/measure.h"
#include "cli/commands.h"

namespace dilute::cli {

void printMeasure(const bench::MeasureResult& r) {
    std::printf("wrote      %s\n           %s\n", r.pruned_path.c_str(), r.torchscript_path.c_str());
    if (!r.onnx_path.empty()) std::printf("           %s\n", r.onnx_path.c_str());
    if (!r.timm_dir.empty()) std::printf("           %s/ (dilute_vit.load)\n", r.timm_dir.c_str());
    std::printf("           %s\nremoved    ", r.report_path.c_str());
    for (int b : r.exported.removed) std::printf("%d ", b);
    std::printf("(max |logit diff| vs the diluted model %.2e)\ndevice     %s, batch %d, %s\n\n",
                r.exported.max_abs_diff, r.device.c_str(), r.options.bench.batch, r.full.precision.c_str());
    std::printf("%-24s%12s%12s%10s\n", "", "full", "pruned", "ratio");
    auto row = [](const char* label, double a, double b, int prec) {
        std::printf("%-24s%12.*f%12.*f", label, prec, a, prec, b);
        if (a > 0) std::printf("%10.3f", b / a);
        std::printf("\n");
    };
    if (r.top1_full >= 0) {
        const std::string label = "top-1 (%), " + std::to_string(r.eval_images) + " img";
        row(label.c_str(), r.top1_full, r.top1_pruned, 2);
    }
    row("parameters (M)", r.full.params / 1e6, r.pruned.params / 1e6, 4);
    row("GMAC / image", r.full.gmac, r.pruned.gmac, 4);
    row("images/s", r.full.images_per_s, r.pruned.images_per_s, 1);
    row("latency p50 (ms)", r.full.latency_p50_ms, r.pruned.latency_p50_ms, 3);
    row("latency p95 (ms)", r.full.latency_p95_ms, r.pruned.latency_p95_ms, 3);
    row("weights (MB)", r.full.weights_mb, r.pruned.weights_mb, 2);
    row("activations (MB)", r.full.activation_mb, r.pruned.activation_mb, 2);
    row("memory (MB)", r.full.peak_mb, r.pruned.peak_mb, 1);
}

}  // namespace dilute::cli
