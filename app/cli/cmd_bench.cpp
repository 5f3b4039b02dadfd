// dilute bench: parameters, GMAC, throughput, latency, memory; --vs measures two models
// alternately. The job is core's (bench/benchjob.h), run by the CLI's generic adapter
// (cli/jobcommand.h); this prints its table.
#include <cstdio>

#include "bench/benchjob.h"
#include "cli/commands.h"
#include "model/kernels.h"

namespace dilute::cli {

namespace {
void printRow(const char* label, double a, double b, const char* fmt, bool haveB) {
    std::printf("%-22s", label);
    std::printf(fmt, a);
    if (haveB) {
        std::printf(fmt, b);
        std::printf("   x%.3f", a != 0 ? b / a : 0.0);
    }
    std::printf("\n");
}
}  // namespace

void printBench(const bench::BenchJobResult& r) {
    const auto& o = r.options.bench;
    const auto &ra = r.a, &rb = r.b;
    const bool hb = r.compared();
    std::printf("device %s%s, %s, batch %d (throughput), batch 1 (latency)\n", o.device.c_str(),
                o.device != "cpu"             ? ""
                : r.cpu_kernels               ? " (CPU kernels on)"
                : model::kernels::available() ? " (CPU kernels off: DILUTE_CPU_KERNELS=0)"
                                              : " (CPU kernels not available in this build)",
                ra.precision.c_str(), o.batch);
    std::printf("%-22s%14s%s\n", "", "A", hb ? "             B    B/A" : "");
    printRow("parameters (M)", ra.params / 1e6, hb ? rb.params / 1e6 : 0, "%14.3f", hb);
    printRow("GMAC / image", ra.gmac, rb.gmac, "%14.4f", hb);
    printRow("images/s", ra.images_per_s, rb.images_per_s, "%14.1f", hb);
    printRow("latency p50 (ms)", ra.latency_p50_ms, rb.latency_p50_ms, "%14.3f", hb);
    printRow("latency p95 (ms)", ra.latency_p95_ms, rb.latency_p95_ms, "%14.3f", hb);
    printRow("weights (MB)", ra.weights_mb, rb.weights_mb, "%14.2f", hb);
    printRow("activations (MB)", ra.activation_mb, rb.activation_mb, "%14.2f", hb);
    printRow("memory (MB)", ra.peak_mb, rb.peak_mb, "%14.1f", hb);
    if (hb) {
        const double ideal = ra.gmac / rb.gmac, got = rb.images_per_s / ra.images_per_s;
        std::printf("\nthroughput gain x%.3f of the GMAC ideal x%.3f: %.0f%% of the ideal gain\n", got, ideal,
                    ideal > 1 ? 100.0 * (got - 1) / (ideal - 1) : 0.0);
    }
}

}  // namespace dilute::cli
