// dilute bench: parameters, GMAC, throughput, latency, memory; --vs measures two models alternately.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "analysis/selectors.h"
#include "bench/bench.h"
#include "bench/optiontable.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "io/export.h"
#include "io/weights.h"
#include "model/kernels.h"
#include "util/error.h"
#include "util/runtime.h"

namespace dilute::cli {

static void printRow(const char* label, double a, double b, const char* fmt, bool haveB) {
    std::printf("%-22s", label);
    std::printf(fmt, a);
    if (haveB) {
        std::printf(fmt, b);
        std::printf("   x%.3f", a != 0 ? b / a : 0.0);
    }
    std::printf("\n");
}

Runner addBench(CLI::App& app, Common& common) {
    struct Opts : io::ModelRef {  // model A, and how both are opened
        std::string b, removeB;
        bench::BenchOptions bo;
    };
    auto o = std::make_shared<Opts>();
    bindOptions(app, io::modelRefOptions<Opts>(), *o);
    app.add_option("--vs", o->b, "Model B, measured alternately with A (ratios B/A printed), opened as A is");
    app.add_option("--remove", o->removeB,
                   "Build B from A with the attention of these blocks removed (e.g. 0,2,4,6): analytic what-if");
    bindOptions(app, bench::benchOptionTable(), o->bo);
    app.add_flag("--json", common.json, "Print JSON");
    auto printConfig = addPrintConfig(app);
    return [o, printConfig, &common]() {
        if (*printConfig) {
            std::printf("%s\n", optionsJson(bench::benchOptionTable(), o->bo).c_str());
            return 0;
        }
        if (o->model.empty()) throw Error("--model is required");
        o->bo.device = resolveDevice(o->bo.device);
        const auto oo = io::openOptionsOf(*o);
        auto a = io::openModel(o->model, oo);
        model::VisionTransformer b{nullptr};
        std::string nameB = o->b;
        if (!o->b.empty()) {
            b = io::openModel(o->b, oo);
        } else if (!o->removeB.empty()) {
            b = io::openModel(o->model, oo);
            b->removeAttention(analysis::parseBlockList(o->removeB, b->depth()), true);
            nameB = o->model + " minus attention " + o->removeB;
        }
        bench::BenchResult ra, rb;
        if (b)
            std::tie(ra, rb) = bench::benchPair(*a, o->model, *b, nameB, o->bo);
        else
            ra = bench::benchModel(*a, o->model, o->bo);
        if (common.json) {
            nlohmann::json j = {
                {"device", o->bo.device}, {"batch", o->bo.batch}, {"a", nlohmann::json::parse(bench::toJson(ra))}};
            if (o->bo.device == "cpu") j["cpu_kernels"] = model::kernels::enabled();
            if (b) {
                j["b"] = nlohmann::json::parse(bench::toJson(rb));
                j["ratios"] = {{"params", double(rb.params) / ra.params},
                               {"gmac", rb.gmac / ra.gmac},
                               {"images_per_s", rb.images_per_s / ra.images_per_s},
                               {"latency_p50", rb.latency_p50_ms / ra.latency_p50_ms}};
                j["throughput_gain_vs_ideal"] = (rb.images_per_s / ra.images_per_s - 1) / (ra.gmac / rb.gmac - 1);
            }
            std::cout << j.dump(2) << "\n";
            return 0;
        }
        const bool hb = static_cast<bool>(b);
        std::printf("device %s%s, batch %d (throughput), batch 1 (latency)\n", o->bo.device.c_str(),
                    o->bo.device != "cpu"         ? ""
                    : model::kernels::enabled()   ? " (CPU kernels on)"
                    : model::kernels::available() ? " (CPU kernels off: DILUTE_CPU_KERNELS=0)"
                                                  : " (CPU kernels not available in this build)",
                    o->bo.batch);
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
        return 0;
    };
}

}  // namespace dilute::cli
