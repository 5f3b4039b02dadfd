#include "inspect/job.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "data/loader.h"
#include "inspect/attention.h"
#include "inspect/compare.h"
#include "inspect/optiontable.h"
#include "io/inputtensor.h"
#include "io/weights.h"
#include "util/durable.h"
#include "util/error.h"
#include "util/files.h"
#include "util/runtime.h"

namespace dilute::inspect {

namespace {

struct Inputs {
    std::vector<torch::Tensor> batches;  // [B,C,S,S] float32, preprocessed
    std::vector<int> labels;             // per image, -1 unknown
    std::vector<std::string> sources;
    std::vector<std::string> class_names;  // the dataset's
};

Inputs fromDataset(const model::ViTConfig& cfg, const InspectOptions& o, const CancelToken* cancel,
                   const std::function<void(const std::string&)>& log, std::string* uri) {
    *uri = o.data.empty() ? cfg.default_data : o.data;
    if (uri->empty())
        throw Error("model '" + o.model + "' has no default dataset: pass --data URI or --input-tensor FILE");
    auto base = data::openDataset(*uri, o.split);
    auto ds = o.images == 0 ? base : data::stratifiedSample(base, size_t(o.images), o.seed);
    data::LoaderOptions lo;
    lo.batch_size = o.batch;
    lo.workers = o.workers;
    data::Loader loader(ds, data::evalTransform(cfg), lo);
    loader.startEpoch(0);
    Inputs in;
    in.class_names = base->classNames();
    data::Batch b;
    while (loader.next(b)) {
        if (cancel) cancel->throwIfCancelled();
        if (b.images.size(0) == 0) continue;
        in.batches.push_back(b.images);
        for (int64_t i = 0; i < b.labels.size(0); ++i) in.labels.push_back(int(b.labels[i].item<int64_t>()));
        for (size_t i : b.indices) in.sources.push_back(ds->source(i));
    }
    const auto sk = loader.skipped();
    if (in.batches.empty())
        throw Error(*uri + " " + o.split + ": no readable images" +
                    (sk.examples.empty()
                         ? std::string()
                         : " (" + std::to_string(sk.count) + " skipped, e.g. " + sk.examples.front() + ")"));
    if (sk.count) log(sk.message("images"));
    return in;
}

Inputs fromTensor(const model::ViTConfig& cfg, const InspectOptions& o,
                  const std::function<void(const std::string&)>& log) {
    auto x = io::readInputTensor(o.input, cfg, o.allow_nonfinite, [&](const std::string& w) { log("warning: " + w); });
    Inputs in;
    for (int64_t i = 0; i < x.size(0); i += o.batch)
        in.batches.push_back(x.narrow(0, i, std::min<int64_t>(o.batch, x.size(0) - i)));
    for (int64_t i = 0; i < x.size(0); ++i) {
        in.labels.push_back(-1);
        in.sources.push_back(o.input + " [" + std::to_string(i) + "]");
    }
    return in;
}

void validate(const InspectOptions& o) {
    if (o.model.empty()) throw Error("--model is required");
    validateOptions(inspectOptionTable(), o);  // every range and choice (the model options too)
    if (!o.input.empty() && !o.data.empty()) throw Error("--input-tensor and --data: give one of the two");
}

// The record of the model's blocks and geometry.
void describe(InspectResult& r, model::VisionTransformerImpl& m) {
    const auto& c = m.config();
    r.depth = m.depth();
    r.heads = c.num_heads;
    r.grid = c.gridSize();
    r.patch = c.patch_size;
    r.prefix = c.numPrefix();
    r.class_token = c.class_token;
    r.classes = c.num_classes;
    r.class_names = c.class_names;
    r.thumb = std::min(c.img_size, 128);
    for (int l = 0; l < r.depth; ++l) {
        const auto b = m.block(l);
        r.modes.push_back(model::blockModeName(b->mode()));
        r.lambdas.push_back(b->mode() == model::BlockMode::Removed ? 0.0 : b->lambda());
    }
}

void checkMemory(const InspectResult& r, uint64_t images, const model::ViTConfig& c, int batch) {
    const uint64_t need =
        inspectBytes(images, r.depth, r.heads, c.numTokens(), r.patches(), std::max(r.classes, 0), r.thumb, batch);
    const uint64_t limit = fs::memoryLimitBytes();
    if (need > limit)
        throw Error("inspecting " + std::to_string(images) + " images of a " + std::to_string(r.depth) + "-block, " +
                    std::to_string(r.heads) + "-head model needs about " + fs::formatBytes(need) + " (maps of " +
                    std::to_string(r.patches()) + " patches per head), more than the " + fs::formatBytes(limit) +
                    " allowed (half the memory): lower --images or --batch");
}

}  // namespace

uint64_t inspectBytes(uint64_t images, int depth, int heads, int tokens, int patches, int classes, int thumb,
                      int batch) {
    const uint64_t perImage = uint64_t(depth) * heads * patches * 4 + uint64_t(patches) * 4 + uint64_t(classes) * 8 +
                              uint64_t(thumb) * thumb * 3;
    const uint64_t perBatch = uint64_t(batch) * depth * heads * uint64_t(tokens) * tokens * 4 +
                              uint64_t(batch) * tokens * tokens * 8 * 3;  // attention + rollout (float64)
    return images * perImage + perBatch;
}

namespace {

using Clock = std::chrono::steady_clock;

// The model's input de-normalised to RGB bytes at the thumbnail size: [B, t, t, 3].
std::vector<uint8_t> thumbnails(const torch::Tensor& x, const model::ViTConfig& c, int t) {
    auto mean = torch::tensor(c.mean, torch::kFloat).view({1, -1, 1, 1});
    auto sd = torch::tensor(c.std, torch::kFloat).view({1, -1, 1, 1});
    auto img = (x.cpu() * sd.narrow(1, 0, x.size(1)) + mean.narrow(1, 0, x.size(1))).clamp(0, 1);
    if (img.size(1) == 1) img = img.expand({-1, 3, -1, -1});
    if (img.size(-1) != t)
        img = torch::nn::functional::interpolate(img, torch::nn::functional::InterpolateFuncOptions()
                                                          .size(std::vector<int64_t>{t, t})
                                                          .mode(torch::kBilinear)
                                                          .align_corners(false)
                                                          .antialias(true));
    auto bytes =
        (img.narrow(1, 0, 3) * 255.0).round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
    return {bytes.data_ptr<uint8_t>(), bytes.data_ptr<uint8_t>() + bytes.numel()};
}

void appendFloats(std::vector<float>& v, const torch::Tensor& t) {
    auto c = t.to(torch::kCPU, torch::kFloat).contiguous();
    v.insert(v.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// One batch through the model (attention probabilities tapped) and the second model.
void addBatch(InspectResult& r, model::VisionTransformerImpl& m, model::VisionTransformerImpl* vs,
              const torch::Tensor& xcpu, const std::string& device, const torch::Tensor& d,
              std::vector<double>& distSum) {
    const auto x = xcpu.to(torch::Device(device));
    model::FeatureTaps taps;
    taps.blocks = false;
    taps.probs = true;
    const auto logits = m.forward(x, &taps);
    const int64_t B = x.size(0), T = m.config().numTokens(), P = r.patches();
    std::vector<torch::Tensor> maps;
    for (int l = 0; l < r.depth; ++l) {
        const auto& A = taps.attn_probs[size_t(l)];
        if (A.defined() && r.class_token)
            maps.push_back(classTokenMaps(A, r.prefix).to(torch::kCPU, torch::kFloat));
        else if (r.class_token)
            maps.push_back(torch::full({B, r.heads, P}, std::numeric_limits<float>::quiet_NaN()));
        if (!A.defined()) continue;
        const auto s = distanceSums(A, r.prefix, d);
        for (int h = 0; h < r.heads; ++h) distSum[size_t(l * r.heads + h)] += s[h].item<double>();
    }
    if (r.class_token) appendFloats(r.cls, torch::stack(maps, 1));
    appendFloats(r.rollout, rollout(taps.attn_probs, r.lambdas, r.prefix, r.class_token, B, T));
    const auto th = thumbnails(xcpu, m.config(), r.thumb);
    r.thumbnails.insert(r.thumbnails.end(), th.begin(), th.end());
    const size_t first = r.logits.size() / size_t(std::max(r.classes, 1));
    if (r.classes <= 0) return;
    appendFloats(r.logits, logits);
    const auto probs = logits.softmax(-1).cpu();
    torch::Tensor probsVs;
    if (vs) {
        const auto lv = vs->forward(x);
        appendFloats(r.logits_vs, lv);
        probsVs = lv.softmax(-1).cpu();
    }
    for (int64_t i = 0; i < B; ++i) {
        auto& im = r.images[first + size_t(i)];
        im.pred = int(probs[i].argmax().item<int64_t>());
        if (im.label >= 0 && im.label < r.classes) im.p_label = probs[i][im.label].item<double>();
        if (!vs) continue;
        im.pred_vs = int(probsVs[i].argmax().item<int64_t>());
        if (im.label >= 0 && im.label < r.classes) im.p_label_vs = probsVs[i][im.label].item<double>();
    }
}

void finishDistance(InspectResult& r, const std::vector<double>& distSum, size_t images) {
    r.mean_distance.assign(distSum.size(), std::numeric_limits<double>::quiet_NaN());
    for (int l = 0; l < r.depth; ++l)
        for (int h = 0; h < r.heads; ++h)
            if (r.modes[size_t(l)] != "removed")
                r.mean_distance[size_t(l * r.heads + h)] =
                    distSum[size_t(l * r.heads + h)] / double(images * size_t(r.patches()));
}

model::VisionTransformer openSecond(const InspectOptions& o, const model::ViTConfig& first) {
    auto v = io::openModel(o.vs, io::openOptionsOf(o));  // --arch, --heads, --img-size: for both
    const auto& c = v->config();
    if (c.img_size != first.img_size || c.in_chans != first.in_chans || c.num_classes != first.num_classes)
        throw Error(o.vs + ": cannot compare with " + o.model + ": it takes " + std::to_string(c.in_chans) + "x" +
                    std::to_string(c.img_size) + " px images into " + std::to_string(c.num_classes) +
                    " classes, the other " + std::to_string(first.in_chans) + "x" + std::to_string(first.img_size) +
                    " px into " + std::to_string(first.num_classes));
    if (c.mean != first.mean || c.std != first.std)
        throw Error(o.vs + ": cannot compare with " + o.model + ": the two models normalise their input differently");
    return v;
}

InspectResult inspectImages(const InspectOptions& o, const InspectObserver& obs, const CancelToken* cancel) {
    const auto t0 = Clock::now();
    auto log = [&](const std::string& s) {
        if (obs.log) obs.log(s);
    };
    auto m = io::openModel(o.model, io::openOptionsOf(o));
    const auto& cfg = m->config();
    model::VisionTransformer vs{nullptr};
    if (!o.vs.empty()) vs = openSecond(o, cfg);
    InspectResult r;
    r.model = o.model;
    describe(r, *m);
    if (obs.progress) obs.progress({"images", 0, 1});
    const uint64_t promised = o.input.empty() ? uint64_t(o.images) : 0;
    if (promised) checkMemory(r, promised, cfg, o.batch);
    Inputs in = o.input.empty() ? fromDataset(cfg, o, cancel, log, &r.data) : fromTensor(cfg, o, log);
    r.split = o.input.empty() ? o.split : "";
    if (r.class_names.empty()) r.class_names = in.class_names;
    r.input = o.input;
    checkMemory(r, in.labels.size(), cfg, o.batch);
    if (!vs.is_empty() && std::count(in.labels.begin(), in.labels.end(), -1) == long(in.labels.size()))
        log("warning: the images have no labels: the comparison lists no flips");
    for (size_t i = 0; i < in.labels.size(); ++i) r.images.push_back({in.sources[i], in.labels[i]});
    const std::string device = resolveDevice(o.device);
    m->to(torch::Device(device));
    m->eval();
    if (!vs.is_empty()) vs->to(torch::Device(device)), vs->eval();
    torch::NoGradGuard ng;
    const auto d = patchDistances(r.grid, r.patch);
    std::vector<double> distSum(size_t(r.depth * r.heads), 0.0);
    size_t done = 0;
    auto lastPartial = Clock::now();
    for (const auto& x : in.batches) {
        if (cancel) cancel->throwIfCancelled();
        addBatch(r, *m, vs.is_empty() ? nullptr : vs.get(), x, device, d, distSum);
        done += size_t(x.size(0));
        if (obs.progress) obs.progress({"attention", (long long)done, (long long)r.images.size()});
        if (obs.partial && Clock::now() - lastPartial > std::chrono::milliseconds(500)) {
            InspectResult p = r;
            p.images.resize(done);
            finishDistance(p, distSum, done);
            obs.partial(p);
            lastPartial = Clock::now();
        }
    }
    finishDistance(r, distSum, done);
    if (!vs.is_empty()) compareImages(r, o.vs);
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    log("inspected " + std::to_string(done) + " images in " + std::to_string(int(r.seconds)) + " s");
    return r;
}

}  // namespace

InspectResult runInspect(const InspectOptions& o, const InspectObserver& obs, const CancelToken* cancel) {
    validate(o);
    if (!o.out_dir.empty()) fs::ensureWritableDir(o.out_dir);  // fail before the work, not after
    auto r = inspectImages(o, obs, cancel);
    if (!o.out_dir.empty()) {
        writeInspect(o.out_dir, r, o.overlays);
        if (obs.log)
            obs.log("wrote " + o.out_dir + "/inspect.json, inspect.safetensors" +
                    (o.overlays > 0 && DILUTE_WITH_OPENCV ? " and overlays/*.png" : ""));
    }
    return r;
}

const InspectJob& inspectJob() {
    static const InspectJob job{
        "inspect",
        "Attention maps, rollout and mean attention distance per block and head; with --vs, the images two models "
        "disagree on",
        inspectOptionTable, runInspect, inspectToJson};
    return job;
}

}  // namespace dilute::inspect
