// dilute eval: top-1 / top-5 / loss / images per second on a dataset split.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "data/loader.h"
#include "io/inputtensor.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "train/evaluate.h"
#include "util/runtime.h"

namespace dilute::cli {

namespace {
// A fixed input batch in, the logits out: how the model is compared with another implementation
// (tests/gpu/compare_timm.py runs timm on the same tensor).
int logitsOf(model::VisionTransformerImpl& m, const std::string& in, const std::string& out, const std::string& device,
             bool allowNonFinite) {
    if (out.empty()) throw Error("--input-tensor needs --logits-out FILE");
    const auto x = io::readInputTensor(in, m.config(), allowNonFinite, [](const std::string& w) {
        std::fprintf(stderr, "warning: %s\n", w.c_str());
    });
    m.eval();
    torch::NoGradGuard ng;
    const auto logits = m.forward(x.to(torch::Device(device))).to(torch::kCPU);
    io::writeSafetensors(out, {{"logits", logits}});
    std::printf("logits    %s [%lld,%lld] on %s\n", out.c_str(), (long long)logits.size(0), (long long)logits.size(1),
                device.c_str());
    return 0;
}
}  // namespace

Runner addEval(CLI::App& app, Common& common) {
    struct Opts : io::ModelRef {
        std::string data, split = "test", device = "auto";
        size_t limit = 0;
        int batch = 256, workers = 2;
        std::string input, logits;
        bool allow_nonfinite = false;
    };
    auto o = std::make_shared<Opts>();
    bindOptions(app, io::modelRefOptions<Opts>(), *o);
    app.add_option("--data,-d", o->data, "Dataset URI (default: the preset's own, e.g. fashion-mnist)");
    app.add_option("--split", o->split, "train | test | val")->capture_default_str();
    app.add_option("--limit", o->limit, "Evaluate only the first N images of the split (file order)");
    app.add_option("--batch,-b", o->batch, "Batch size")->capture_default_str();
    app.add_option("--workers", o->workers, "Loader threads")->capture_default_str();
    app.add_option("--device", o->device, "auto | cpu | cuda | cuda:N")->capture_default_str();
    app.add_option("--input-tensor", o->input,
                   "Instead of a dataset: run the model on the tensor 'input' [B,C,H,W] of this safetensors file "
                   "(already preprocessed), and write the logits to --logits-out");
    app.add_option("--logits-out", o->logits, "With --input-tensor: safetensors file for the logits (tensor 'logits', F32)");
    app.add_flag("--allow-nonfinite", o->allow_nonfinite, "With --input-tensor: run an input holding NaN or Inf (warned about)");
    app.add_flag("--json", common.json, "Print JSON");
    return [o, &common]() {
        if (o->model.empty()) throw Error("--model is required");
        auto m = io::openModel(o->model, io::openOptionsOf(*o));
        if (const auto bad = io::nonFiniteParameters(*m); !bad.empty())
            std::fprintf(stderr, "warning: %s: %zu tensors hold NaN or infinite values (first: %s); the figures below "
                                 "are not meaningful\n",
                         o->model.c_str(), bad.size(), bad.front().c_str());
        const std::string device = resolveDevice(o->device);
        m->to(torch::Device(device));
        if (!o->input.empty()) return logitsOf(*m, o->input, o->logits, device, o->allow_nonfinite);
        if (!m->config().hasHead())
            throw Error(o->model + ": the model has no classification head (num_classes 0), so it has no top-1 to "
                                   "measure; --input-tensor gives its features");
        const std::string uri = o->data.empty() ? m->config().default_data : o->data;
        if (uri.empty()) throw Error("model '" + o->model + "' has no default dataset: pass --data URI");
        auto ds = data::limitDataset(data::openDataset(uri, o->split), o->limit);
        data::requireClassCount(m->config().num_classes, o->model, *ds);
        data::LoaderOptions lo;
        lo.batch_size = o->batch;
        lo.workers = o->workers;
        lo.pin_memory = device != "cpu";
        data::Loader loader(ds, data::evalTransform(m->config()), lo);
        ProgressBar bar("eval");
        auto r = train::evaluate(*m, loader, device, &interruptToken(),
                                 [&](const Progress& p) { bar.update(p.done, p.total); });
        bar.finish();
        const auto sk = loader.skipped();
        if (common.json) {
            nlohmann::json j = {{"model", o->model}, {"data", uri},        {"split", o->split},
                                {"images", r.images}, {"top1", r.top1},     {"top5", r.top5},
                                {"loss", r.loss},     {"images_per_s", r.images_per_s}, {"skipped", sk.count},
                                {"skipped_files", sk.files},  {"skipped_examples", sk.examples}};
            std::cout << j.dump(2) << "\n";
        } else {
            std::printf("data      %s\nimages    %lld\ntop-1     %.2f%%\ntop-5     %.2f%%\nloss      %.4f\nimages/s  %.1f\n",
                        ds->describe().c_str(), r.images, r.top1, r.top5, r.loss, r.images_per_s);
        }
        if (sk.count) std::fprintf(stderr, "%s\n", sk.message().c_str());
        return 0;
    };
}

}  // namespace dilute::cli
