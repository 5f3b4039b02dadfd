#include "bench/optiontable.h"

#include "bench/options.h"

namespace dilute::bench {

namespace {

// The option rows are laid out by hand, a row's fields packed on a few lines (the formatter
// would give every field a line of its own).
// clang-format off
std::vector<OptionSpec<BenchOptions>> buildBench() {
    using O = BenchOptions;
    std::vector<OptionSpec<O>> t;
    auto add = [&](OptionSpec<O> s) { t.push_back(std::move(s)); };
    add({"batch", "--batch,-b", "Throughput batch", "Throughput batch size", "Benchmark", 1, 65536, {}, false, "",
         memberField(&O::batch)});
    add({"repeats", "--repeats", "Timed repeats", "Timed throughput repeats (median)", "Benchmark", 1, 100000, {}, false,
         "", memberField(&O::repeats)});
    add({"latency_runs", "--latency-runs", "Latency runs", "Batch-1 runs for p50/p95 latency", "Benchmark", 1, 100000,
         {}, false, "", memberField(&O::latency_runs)});
    add({"rounds", "--rounds", "Alternation rounds", "Alternation rounds of the two models (median over rounds)",
         "Benchmark", 1, 1000, {}, false, "", memberField(&O::rounds)});
    add({"warmup", "--warmup", "Warm-up passes", "Untimed forward passes before timing", "Benchmark", 0, 1000, {}, false,
         "", memberField(&O::warmup)});
    add({"device", "--device", "Device", "auto | cpu | cuda | cuda:N", "System", 0, 0, {}, false,
         "the Project panel's device", memberField(&O::device)});
    add({"precision", "--precision", "Precision", "fp32 (TF32 off) | bf16 | fp16: the forward passes under CUDA autocast",
         "Benchmark", 0, 0, {"fp32", "bf16", "fp16"}, false, "", memberField(&O::precision)});
    return t;
}

std::vector<OptionSpec<BenchJobOptions>> buildBenchJob() {
    using O = BenchJobOptions;
    std::vector<OptionSpec<O>> t;
    auto add = [&](OptionSpec<O> s) { t.push_back(std::move(s)); };
    for (auto& s : io::modelRefOptions<O>()) add(std::move(s));
    add({"vs", "--vs", "Model B", "Model B, measured alternately with A (ratios B/A printed), opened as A is", "Run", 0,
         0, {}, false, "the Export view measures a run's full and pruned models", memberField(&O::vs)});
    add({"remove", "--remove", "Remove blocks",
         "Build B from A with the attention of these blocks removed (e.g. 0,2,4,6): analytic what-if", "Run", 0, 0, {},
         false, "the Export view measures a run's full and pruned models", memberField(&O::remove)});
    for (auto& s : liftOptions(benchOptionTable(), &O::bench)) add(std::move(s));
    return t;
}

std::vector<OptionSpec<MeasureOptions>> buildMeasure() {
    using O = MeasureOptions;
    std::vector<OptionSpec<O>> t;
    auto add = [&](OptionSpec<O> s) { t.push_back(std::move(s)); };
    add({"run", "--run,-r", "Dilution run", "Run folder (its final.safetensors) or weights file whose lambda-0 blocks are removed",
         "Run", 0, 0, {}, false, "the Export view's run field (with Browse)", memberField(&O::run)});
    add({"out_dir", "--out,-o", "Export folder", "Folder for pruned.safetensors, .pt, .onnx and timm/ (default: RUN/export)",
         "Run", 0, 0, {}, false, "the Export view's export folder field", memberField(&O::out_dir)});
    add({"baseline", "--baseline", "Full model",
         "The model before dilution, measured as 'full' (run folder, weights file or preset; default: the run itself)",
         "Run", 0, 0, {}, false, "the Export view's full-model field (filled from the training run)",
         memberField(&O::baseline)});
    add({"data", "--data,-d", "Data", "Dataset URI for the accuracy (default: the model's own)", "Run", 0, 0, {}, false,
         "the Project panel's data", memberField(&O::data)});
    add({"device", "--device", "Device", "auto | cpu | cuda | cuda:N (evaluation and benchmark)", "System", 0, 0, {},
         false, "the Project panel's device", memberField(&O::device)});
    add({"eval_images", "--eval-images", "Test images", "Top-1 on the first N test images (0 = skip the evaluation)",
         "Accuracy", 0, 1e12, {}, false, "", memberField(&O::eval_images)});
    add({"onnx", "!--no-onnx", "ONNX", "Also write pruned.onnx (opset 17: ONNX Runtime, TensorRT, OpenVINO)", "Deploy",
         0, 0, {}, false, "", memberField(&O::onnx)});
    add({"timm", "!--no-timm", "timm folder", "Also write timm/: a timm hub folder with dilute_vit.py (PyTorch)",
         "Deploy", 0, 0, {}, false, "", memberField(&O::timm)});
    for (auto& s : liftOptions(benchOptionTable(), &O::bench))
        if (s.name != "device") t.push_back(std::move(s));
    return t;
}
// clang-format on

}  // namespace

const std::vector<OptionSpec<BenchOptions>>& benchOptionTable() {
    static const auto table = buildBench();
    return table;
}

const std::vector<OptionSpec<BenchJobOptions>>& benchJobOptionTable() {
    static const auto table = buildBenchJob();
    return table;
}

const std::vector<OptionSpec<MeasureOptions>>& measureOptionTable() {
    static const auto table = buildMeasure();
    return table;
}

}  // namespace dilute::bench
