#include "experiment/demo.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include "analysis/job.h"
#include "bench/measure.h"
#include "io/export.h"
#include "io/weights.h"
#include "model/preset.h"
#include "train/metrics.h"
#include "train/optiontable.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/files.h"
#include "util/numtext.h"
#include "util/runtime.h"

namespace dilute::experiment {
using json = nlohmann::json;

namespace {

constexpr int kBenchBatch = 256;

train::TrainOptions baseOptions(const DemoOptions& o, const std::string& device) {
    train::TrainOptions t;
    train::applyPresetDefaults(t, o.preset);
    t.model = o.preset;
    t.data = o.data;
    t.out_dir = fs::join(o.out_dir, "baseline");
    t.overwrite = true;  // the demo owns its folder's layout: a rerun replaces its own sub-runs whole
    t.epochs = o.base_epochs;
    t.seed = o.seed;
    t.device = device;
    t.workers = 1;
    if (o.quick) {
        t.train_limit = 10000;
        t.test_limit = 2000;
        t.epochs = 2;
    }
    return t;
}

train::TrainOptions diluteOptions(const DemoOptions& o, const train::TrainOptions& base, const std::string& name,
                                  const std::string& select) {
    train::TrainOptions t = base;
    t.model = fs::join(base.out_dir, "final.safetensors");
    t.out_dir = fs::join(o.out_dir, name);
    t.overwrite = true;
    t.epochs = o.quick ? 2 : o.dilute_epochs;
    t.lr = base.lr * 0.5;
    t.warmup_epochs = 0.2;
    t.select = select;
    t.schedule.end = t.epochs * (2.0 / 3.0);       // the last third trains the MLP-only form
    t.recipe = train::deriveRecipe(t.model).name;  // its lr and warm-up are that recipe's
    return t;
}

bool sameConfig(const std::string& dir, const train::TrainOptions& t) {
    const auto cfg = fs::join(dir, "config.json");
    if (!fs::exists(cfg) || !fs::exists(fs::join(dir, "final.safetensors"))) return false;
    try {
        auto old = json::parse(fs::readText(cfg));
        auto now = json::parse(t.toJson());
        for (auto it = now.begin(); it != now.end(); ++it)
            if (it.key() != "out_dir" && old.value(it.key(), json()) != it.value()) return false;
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

using numtext::fixed;

}  // namespace

std::string demoReport(const DemoOptions& o, const DemoResult& r) {
    std::ostringstream md;
    auto blocks = [](const std::vector<int>& b) {
        std::string s;
        for (int x : b) s += (s.empty() ? "" : ", ") + std::to_string(x);
        return "{" + s + "}";
    };
    const auto& F = r.full;
    const auto& P = r.pruned;
    auto delta = [](double a, double b) { return (a >= b ? "+" : "") + fixed(a - b, 2); };
    md << "# Dilute demo report\n\n"
       << "Model `" << o.preset << "` on `" << o.data << "`" << (o.quick ? " (quick: subset, short runs)" : "")
       << ", device " << r.device << ". Wall time " << fixed(r.seconds / 60.0, 1) << " min"
       << (r.baseline_reused ? " (baseline reused from an earlier run)" : "") << ".\n\n"
       << "## Accuracy (test top-1)\n\n"
       << "The dilution runs and the control fine-tune the same baseline for the same epochs with the same "
          "schedule; only the control keeps every attention. *vs control* is the cost of removing attention "
          "at equal training budget; *vs baseline* also contains the extra training.\n\n"
       << "| model | blocks without attention | top-1 (%) | vs control | vs baseline |\n|---|---|---|---|---|\n"
       << "| baseline (trained from scratch) | none | " << fixed(r.base_top1, 2) << " | | |\n"
       << "| control (same fine-tuning, no block removed) | none | " << fixed(r.control_top1, 2) << " | | "
       << delta(r.control_top1, r.base_top1) << " |\n"
       << "| NOSE + dilution | " << blocks(r.nose_blocks) << " | " << fixed(r.nose_top1, 2) << " | "
       << delta(r.nose_top1, r.control_top1) << " | " << delta(r.nose_top1, r.base_top1) << " |\n";
    if (r.random_top1 >= 0)
        md << "| random + dilution | " << blocks(r.random_blocks) << " | " << fixed(r.random_top1, 2) << " | "
           << delta(r.random_top1, r.control_top1) << " | " << delta(r.random_top1, r.base_top1) << " |\n";
    md << "\n## Cost, measured (" << P.name << " vs " << F.name << ")\n\n"
       << "| metric | full | pruned | pruned / full |\n|---|---|---|---|\n"
       << "| test top-1 (%), full = the control | " << fixed(r.control_top1, 2) << " | " << fixed(r.nose_top1, 2)
       << " | " << fixed(r.control_top1 > 0 ? r.nose_top1 / r.control_top1 : 0, 3) << " |\n"
       << "| parameters | " << F.params << " | " << P.params << " | " << fixed(double(P.params) / F.params, 3) << " |\n"
       << "| GMAC / image | " << fixed(F.gmac, 4) << " | " << fixed(P.gmac, 4) << " | " << fixed(P.gmac / F.gmac, 3)
       << " |\n"
       << "| images/s (batch " << kBenchBatch << ") | " << fixed(F.images_per_s, 0) << " | " << fixed(P.images_per_s, 0)
       << " | " << fixed(P.images_per_s / F.images_per_s, 3) << " |\n"
       << "| latency p50, batch 1 (ms) | " << fixed(F.latency_p50_ms, 3) << " | " << fixed(P.latency_p50_ms, 3) << " | "
       << fixed(P.latency_p50_ms / F.latency_p50_ms, 3) << " |\n"
       << "| latency p95, batch 1 (ms) | " << fixed(F.latency_p95_ms, 3) << " | " << fixed(P.latency_p95_ms, 3) << " | "
       << fixed(P.latency_p95_ms / F.latency_p95_ms, 3) << " |\n"
       << "| weights (MB, fp32) | " << fixed(F.weights_mb, 2) << " | " << fixed(P.weights_mb, 2) << " | "
       << fixed(P.weights_mb / F.weights_mb, 3) << " |\n"
       << "| activations, batch " << kBenchBatch << " (MB) | " << fixed(F.activation_mb, 2) << " | "
       << fixed(P.activation_mb, 2) << " | " << fixed(F.activation_mb > 0 ? P.activation_mb / F.activation_mb : 0, 3)
       << " |\n"
       << "| memory: weights + activations (MB) | " << fixed(F.peak_mb, 1) << " | " << fixed(P.peak_mb, 1) << " | "
       << fixed(F.peak_mb > 0 ? P.peak_mb / F.peak_mb : 0, 3) << " |\n\n"
       << "Files: `baseline/` (run), `analysis/analysis.json`, `control/` (fine-tuning run, no dilution), "
          "`nose/` (dilution run), "
       << (r.random_top1 >= 0 ? "`random/` (dilution run), " : "") << "`pruned.safetensors`, `pruned.pt` (TorchScript)"
       << (DILUTE_WITH_ONNX ? ", `pruned.onnx` (ONNX Runtime)" : "") << ", `timm/` (`dilute_vit.load`, PyTorch).\n";
    return md.str();
}

namespace {

// The baseline's last test top-1, read with the one metrics.jsonl parser.
double lastTestTop1(const std::string& runDir) {
    std::ifstream in(fs::join(runDir, "metrics.jsonl"));
    std::string line;
    double top1 = 0;
    while (std::getline(in, line)) {
        const auto e = train::parseMetricsLine(line);
        if (e.kind == train::MetricsEvent::Kind::Epoch) top1 = e.epoch.test_top1;
    }
    return top1;
}

analysis::AnalysisResult analyse(const DemoOptions& opt, const std::string& baseDir, const DemoObserver& obs,
                                 const CancelToken* cancel) {
    analysis::AnalysisOptions ao;
    ao.model = fs::join(baseDir, "final.safetensors");
    ao.data = opt.data;
    ao.calib = opt.quick ? 512 : opt.calib;
    ao.k = model::preset(opt.preset).depth / 3;
    ao.pairwise = true;
    ao.device = opt.device;
    ao.workers = 1;
    analysis::AnalysisObserver aobs;
    aobs.progress = obs.train.progress;
    auto ar = analysis::runAnalysis(ao, aobs, cancel);
    analysis::writeAnalysis(fs::join(opt.out_dir, "analysis"), ar);
    return ar;
}

// The same core job as the workbench's Export view (accuracy comes from the runs).
bench::MeasureResult exportAndBench(const DemoOptions& opt, const std::string& noseDir, const std::string& baseDir,
                                    const CancelToken* cancel) {
    bench::MeasureOptions mo;
    mo.run = noseDir;
    mo.out_dir = opt.out_dir;
    mo.baseline = baseDir;
    mo.device = opt.device;
    mo.eval_images = 0;
    mo.bench.batch = kBenchBatch;
    // Quick mode keeps the alternation (3 rounds): with one round, drift on a busy machine could
    // show the pruned model slower than the full one. The bench costs seconds at the demo's size.
    mo.bench.repeats = opt.quick ? 5 : 7;
    mo.bench.rounds = 3;
    mo.bench.latency_runs = opt.quick ? 30 : 50;
    return bench::exportAndMeasure(mo, {}, cancel);
}

void writeSummary(const DemoOptions& opt, const DemoResult& r) {
    json s = {{"base_top1", r.base_top1},
              {"control_top1", r.control_top1},
              {"nose_top1", r.nose_top1},
              {"nose_blocks", r.nose_blocks},
              {"random_top1", r.random_top1},
              {"random_blocks", r.random_blocks},
              {"full", json::parse(bench::toJson(r.full))},
              {"pruned", json::parse(bench::toJson(r.pruned))},
              {"seconds", r.seconds},
              {"quick", opt.quick}};
    fs::atomicWriteText(fs::join(opt.out_dir, "summary.json"), s.dump(2) + "\n");
}

}  // namespace

DemoResult runDemo(const DemoOptions& o, const DemoObserver& obs, const CancelToken* cancel) {
    const auto t0 = std::chrono::steady_clock::now();
    auto stage = [&](const std::string& s) {
        if (obs.onStage) obs.onStage(s);
    };
    if (!o.compare.empty() && o.compare != "random") throw Error("--compare '" + o.compare + "': expected random");
    DemoOptions opt = o;
    opt.device = resolveDevice(o.device);
    fs::ensureWritableDir(o.out_dir);
    DemoResult r;
    r.device = opt.device;

    auto base = baseOptions(opt, opt.device);
    if (opt.reuse_baseline && sameConfig(base.out_dir, base)) {
        stage("baseline: reusing " + base.out_dir);
        r.baseline_reused = true;
    } else {
        stage("baseline: training " + opt.preset + " from scratch");
        train::train(base, obs.train, cancel);
    }
    r.base_top1 = lastTestTop1(base.out_dir);

    stage("analysis: entropy profile, transfer entropy, NOSE");
    const auto ar = analyse(opt, base.out_dir, obs, cancel);
    r.nose_blocks = ar.selection.blocks;

    stage("dilution: fine-tuning with NOSE blocks");
    auto nose = diluteOptions(opt, base, "nose", fs::join(opt.out_dir, "analysis"));
    r.nose_top1 = train::train(nose, obs.train, cancel).final_top1;

    stage("control: the same fine-tuning, no block removed");
    r.control_top1 = train::train(diluteOptions(opt, base, "control", "none"), obs.train, cancel).final_top1;

    if (opt.compare == "random") {
        stage("dilution: fine-tuning with random blocks");
        auto rnd = diluteOptions(opt, base, "random", "random:" + std::to_string(model::preset(opt.preset).depth / 3));
        rnd.seed = opt.seed + 1;
        const auto rs = train::train(rnd, obs.train, cancel);
        r.random_top1 = rs.final_top1;
        r.random_blocks = rs.blocks;
    }

    stage("export: removing attention, folding, TorchScript, ONNX, timm folder; bench: full vs pruned");
    const auto measured = exportAndBench(opt, nose.out_dir, base.out_dir, cancel);
    r.full = measured.full;
    r.pruned = measured.pruned;

    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.report_path = fs::join(opt.out_dir, "report.md");
    fs::atomicWriteText(r.report_path, demoReport(opt, r));
    writeSummary(opt, r);
    return r;
}

}  // namespace dilute::experiment
