#include "eval/job.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "data/loader.h"
#include "eval/optiontable.h"
#include "io/inputtensor.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "train/evaluate.h"
#include "util/error.h"
#include "util/runtime.h"

namespace dilute::eval {

namespace {

void warn(const EvalObserver& obs, const std::string& s) {
    if (obs.log) obs.log("warning: " + s);
}

// A fixed input batch in, the logits out: how the model is compared with another implementation
// (tests/gpu/compare_timm.py runs timm on the same tensor).
void logitsOf(model::VisionTransformerImpl& m, const EvalOptions& o, const EvalObserver& obs, EvalJobResult& r) {
    if (o.logits_out.empty()) throw Error("--input-tensor needs --logits-out FILE");
    const auto x =
        io::readInputTensor(o.input, m.config(), o.allow_nonfinite, [&](const std::string& w) { warn(obs, w); });
    m.eval();
    torch::NoGradGuard ng;
    const auto logits = m.forward(x.to(torch::Device(r.device))).to(torch::kCPU);
    io::writeSafetensors(o.logits_out, {{"logits", logits}});
    r.logits_out = o.logits_out;
    r.logits_rows = logits.size(0);
    r.logits_cols = logits.dim() > 1 ? logits.size(1) : 1;
}

void onDataset(model::VisionTransformerImpl& m, const EvalOptions& o, const EvalObserver& obs,
               const CancelToken* cancel, EvalJobResult& r) {
    if (!m.config().hasHead())
        throw Error(o.model +
                    ": the model has no classification head (num_classes 0), so it has no top-1 to "
                    "measure; --input-tensor gives its features");
    r.data = o.data.empty() ? m.config().default_data : o.data;
    if (r.data.empty()) throw Error("model '" + o.model + "' has no default dataset: pass --data URI");
    auto ds = data::limitDataset(data::openDataset(r.data, o.split), o.limit);
    data::requireClassCount(m.config().num_classes, o.model, *ds);
    r.describe = ds->describe();
    data::LoaderOptions lo;
    lo.batch_size = o.batch;
    lo.workers = o.workers;
    lo.pin_memory = r.device != "cpu";
    data::Loader loader(ds, data::evalTransform(m.config()), lo);
    const auto e = train::evaluate(m, loader, r.device, cancel, obs.progress);
    r.images = e.images;
    r.top1 = e.top1;
    r.top5 = e.top5;
    r.loss = e.loss;
    r.images_per_s = e.images_per_s;
    const auto sk = loader.skipped();
    r.skipped = sk.count;
    r.skipped_files = sk.files;
    r.skipped_examples = sk.examples;
    if (sk.count) warn(obs, sk.message());
}

}  // namespace

EvalJobResult runEval(const EvalOptions& o, const EvalObserver& obs, const CancelToken* cancel) {
    if (o.model.empty()) throw Error("--model is required");
    validateOptions(evalOptionTable(), o);
    auto m = io::openModel(o.model, io::openOptionsOf(o));
    if (const auto bad = io::nonFiniteParameters(*m); !bad.empty())
        warn(obs, o.model + ": " + std::to_string(bad.size()) + " tensors hold NaN or infinite values (first: " +
                      bad.front() + "); the figures below are not meaningful");
    EvalJobResult r;
    r.model = o.model;
    r.split = o.split;
    r.device = resolveDevice(o.device);
    m->to(torch::Device(r.device));
    if (!o.input.empty())
        logitsOf(*m, o, obs, r);
    else
        onDataset(*m, o, obs, cancel, r);
    return r;
}

std::string evalToJson(const EvalJobResult& r) {
    nlohmann::json j;
    if (!r.logits_out.empty()) {
        j = {{"model", r.model},
             {"logits", r.logits_out},
             {"shape", {r.logits_rows, r.logits_cols}},
             {"device", r.device}};
    } else {
        j = {{"model", r.model},
             {"data", r.data},
             {"split", r.split},
             {"images", r.images},
             {"top1", r.top1},
             {"top5", r.top5},
             {"loss", r.loss},
             {"images_per_s", r.images_per_s},
             {"skipped", r.skipped},
             {"skipped_files", r.skipped_files},
             {"skipped_examples", r.skipped_examples}};
    }
    return j.dump(2);
}

const EvalJob& evalJob() {
    static const EvalJob job{"eval", "Evaluate a model on a dataset (top-1, top-5, loss)", evalOptionTable, runEval,
                             evalToJson};
    return job;
}

}  // namespace dilute::eval
