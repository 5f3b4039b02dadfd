#include "bench/measure.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "bench/optiontable.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/transforms.h"
#include "io/weights.h"
#include "train/evaluate.h"
#include "util/files.h"
#include "util/runtime.h"

namespace dilute::bench {

namespace {
// A baseline of another input or class count would make every ratio meaningless: refused.
void requireComparable(const model::ViTConfig& a, const std::string& aName, const model::ViTConfig& b,
                       const std::string& bName) {
    auto shape = [](const model::ViTConfig& c) {
        return std::to_string(c.in_chans) + "x" + std::to_string(c.img_size) + "x" + std::to_string(c.img_size) +
               " input, " + std::to_string(c.num_classes) + " classes";
    };
    if (a.in_chans != b.in_chans || a.img_size != b.img_size || a.num_classes != b.num_classes)
        throw Error("--baseline " + aName + " (" + shape(a) + ") cannot be compared with the run " + bName + " (" +
                    shape(b) + "): give the run's own starting model");
}

// The run's config.json records the fingerprint of the weights it started from: a --baseline
// with other weights is worth a note (a baseline trained longer, or another run's model).
void checkBaselineIsTheStart(const MeasureOptions& o, model::VisionTransformerImpl& full, MeasureResult& r) {
    if (o.baseline.empty() || !fs::isDirectory(o.run)) return;
    const auto cfgPath = fs::join(o.run, "config.json");
    if (!fs::exists(cfgPath)) return;
    const auto cfg = nlohmann::json::parse(fs::readText(cfgPath), nullptr, false);
    if (!cfg.is_object() || !cfg.contains("starting_weights") || !cfg["starting_weights"].is_object()) return;
    const auto& sw = cfg["starting_weights"];
    auto text = [&](const char* key) {
        return sw.contains(key) && sw[key].is_string() ? sw[key].get<std::string>() : "";
    };
    const std::string want = text("fingerprint"), from = text("model");
    if (want.empty()) return;  // a damaged record is no evidence either way
    const std::string got = io::weightsFingerprint(full);
    if (got != want)
        r.notes.push_back("--baseline " + o.baseline + " holds other weights (fingerprint " + got + ") than the run " +
                          o.run + " started from (" + from + ", fingerprint " + want +
                          "): the ratios compare the pruned model with another model than its own start");
}

MeasureResult measureRun(const MeasureOptions& o, const std::function<void(const Progress&)>& progress,
                         const CancelToken* cancel) {
    auto step = [&](const char* phase, long long done) {
        if (progress) progress({phase, done, 3});
        if (cancel) cancel->throwIfCancelled();
    };
    const std::string device = resolveDevice(o.device);
    fs::ensureWritableDir(o.out_dir);
    MeasureResult r;
    r.options = o;
    r.device = device;
    io::ExportOptions eo;
    eo.model = o.run;
    eo.out = r.pruned_path = fs::join(o.out_dir, "pruned.safetensors");
    eo.torchscript = r.torchscript_path = fs::join(o.out_dir, "pruned.pt");
    if (o.onnx) eo.onnx = r.onnx_path = fs::join(o.out_dir, "pruned.onnx");
    if (o.timm) {
        eo.timm = r.timm_dir = fs::join(o.out_dir, "timm");
        if (fs::exists(fs::join(eo.timm, "dilute_vit.py")))
            std::filesystem::remove_all(eo.timm);  // this job's last export
    }
    step("export", 0);
    r.exported = io::exportPruned(eo);
    const std::string baseline = o.baseline.empty() ? o.run : o.baseline;
    auto full = io::openModel(baseline);
    auto pruned = io::openModel(eo.out);
    requireComparable(full->config(), baseline, pruned->config(), o.run);
    if (r.exported.source.find("/checkpoints/") != std::string::npos)
        r.notes.push_back(o.run + " has no final.safetensors (the run did not finish): measured its last checkpoint, " +
                          r.exported.source);
    checkBaselineIsTheStart(o, *full, r);
    const std::string uri = o.data.empty() ? full->config().default_data : o.data;
    if (o.eval_images > 0 && !uri.empty()) {
        step("evaluate", 1);
        auto ds = data::limitDataset(data::openDataset(uri, "test"), o.eval_images);
        r.eval_images = ds->size();
        data::LoaderOptions lo;
        lo.batch_size = 256;
        lo.workers = 1;
        lo.pin_memory = device != "cpu";
        full->to(torch::Device(device));
        pruned->to(torch::Device(device));
        data::Loader la(ds, data::evalTransform(full->config()), lo);
        r.top1_full = train::evaluate(*full, la, device, cancel).top1;
        data::Loader lb(ds, data::evalTransform(pruned->config()), lo);
        r.top1_pruned = train::evaluate(*pruned, lb, device, cancel).top1;
    }
    step("bench", 2);
    BenchOptions bo = o.bench;
    bo.device = device;
    std::tie(r.full, r.pruned) = benchPair(*full, "full", *pruned, "pruned", bo);
    r.report_path = fs::join(o.out_dir, "measure.json");
    fs::atomicWriteText(r.report_path, measureToJson(r) + "\n");
    if (progress) progress({"bench", 3, 3});
    return r;
}

}  // namespace

MeasureResult exportAndMeasure(const MeasureOptions& opts, const MeasureObserver& obs, const CancelToken* cancel) {
    if (opts.run.empty()) throw Error("--run RUN_DIR is required");
    validateOptions(measureOptionTable(), opts);
    MeasureOptions o = opts;
    if (o.out_dir.empty()) o.out_dir = fs::join(o.run, "export");
    auto r = measureRun(o, obs.progress, cancel);
    if (obs.log)
        for (const auto& n : r.notes) obs.log("note: " + n);
    return r;
}

const MeasureJob& measureJob() {
    static const MeasureJob job{
        "measure", "Export a dilution run and measure full vs pruned: accuracy, throughput, latency, memory",
        measureOptionTable, exportAndMeasure, measureToJson};
    return job;
}

namespace {
nlohmann::json side(const BenchResult& b, double top1) {
    auto j = nlohmann::json::parse(toJson(b));
    j["top1"] = top1;
    return j;
}
}  // namespace

std::string measureToJson(const MeasureResult& r) {
    const auto& o = r.options;
    const nlohmann::json j = {{"format", "dilute.measure/1"},
                              {"run", o.run},
                              {"baseline", o.baseline.empty() ? o.run : o.baseline},
                              {"device", r.device},
                              {"pruned", r.pruned_path},
                              {"torchscript", r.torchscript_path},
                              {"onnx", r.onnx_path},
                              {"timm", r.timm_dir},
                              {"removed_blocks", r.exported.removed},
                              {"max_abs_logit_diff", r.exported.max_abs_diff},
                              {"eval_images", r.eval_images},
                              {"batch", o.bench.batch},
                              {"repeats", o.bench.repeats},
                              {"latency_runs", o.bench.latency_runs},
                              {"rounds", o.bench.rounds},
                              {"precision", r.full.precision},
                              {"notes", r.notes},
                              {"full", side(r.full, r.top1_full)},
                              {"pruned_model", side(r.pruned, r.top1_pruned)}};
    return j.dump(2);
}

}  // namespace dilute::bench
