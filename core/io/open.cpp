// openModel: a preset, a Dilute safetensors file, or any source io/source.h reads.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "io/adapt.h"
#include "io/export.h"
#include "io/infer.h"
#include "io/source.h"
#include "io/weights.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::io {
using json = nlohmann::json;

namespace {

// The file's own description wins: it alone knows which blocks were removed and whether the
// doubling was folded into the weights (rebuilding a folded file unfolded would silently compute
// something else). An --arch that disagrees with it is an error.
model::ViTConfig recordedConfig(const ModelSource& src, const OpenOptions& opts, std::vector<int>* removed,
                                bool* folded) {
    model::ViTConfig cfg;
    try {
        cfg = archFromJson(src.metadata.at("dilute.arch"), removed, folded);
    } catch (const Error& e) {
        throw Error(src.path + ": " + e.what());
    }
    if (!opts.arch.empty()) {
        const auto p = model::preset(opts.arch);
        if (p.embed_dim != cfg.embed_dim || p.depth != cfg.depth || p.num_heads != cfg.num_heads ||
            p.patch_size != cfg.patch_size || p.img_size != cfg.img_size || p.in_chans != cfg.in_chans ||
            p.num_classes != cfg.num_classes)
            throw Error(src.path + ": --arch " + opts.arch + " disagrees with the architecture the file records (" +
                        cfg.name + ", D=" + std::to_string(cfg.embed_dim) + ", depth " + std::to_string(cfg.depth) +
                        ", " + std::to_string(cfg.num_classes) + " classes); leave --arch out for this file");
    }
    return cfg;
}

void applyLambdas(model::VisionTransformerImpl& m, const ModelSource& src) {
    auto lit = src.metadata.find("dilute.lambda");
    if (lit == src.metadata.end()) return;
    std::vector<double> lambdas;
    try {
        lambdas = json::parse(lit->second).get<std::vector<double>>();
    } catch (const std::exception&) {
        throw Error(src.path + ": dilute.lambda metadata is not a list of numbers");
    }
    if (static_cast<int>(lambdas.size()) != m.depth()) throw Error(src.path + ": dilute.lambda has the wrong length");
    for (int i = 0; i < m.depth(); ++i)
        if (m.block(i)->mode() != model::BlockMode::Removed) m.block(i)->setLambda(lambdas[i]);
}

// The blocks the run that wrote these weights diluted ("dilute.selection", final.safetensors):
// provenance only (the blocks' state is in dilute.arch and dilute.lambda), checked all the same.
std::vector<int> recordedSelection(const ModelSource& src, int depth) {
    const auto it = src.metadata.find("dilute.selection");
    if (it == src.metadata.end()) return {};
    const auto j = json::parse(it->second, nullptr, false);
    bool ok = j.is_array() && int(j.size()) <= depth;
    std::vector<int> blocks;
    for (size_t i = 0; ok && i < j.size(); ++i) {
        ok = j[i].is_number_integer() && j[i].get<long long>() >= 0 && j[i].get<long long>() < depth;
        if (ok) blocks.push_back(j[i].get<int>());
    }
    if (!ok)
        throw Error(src.path + ": dilute.selection metadata is not a list of block indices below the depth (" +
                    std::to_string(depth) + ")");
    return blocks;
}

// A new head leaves exactly its own keys missing; anything else is the strict load's error.
LoadReport loadWithNewHead(model::VisionTransformerImpl& m, const ModelSource& src, const std::string& spec,
                           uint64_t seed) {
    m.initWeights(seed);  // the new head as training from scratch initialises it; the rest is overwritten
    auto r = loadStateDict(m, src.tensors, false, spec);
    LoadReport other = r;
    other.missing.clear();
    for (const auto& k : r.missing)
        if (!isHeadKey(k)) other.missing.push_back(k);
    if (!other.clean()) throw Error(spec + ": " + other.describe());
    return other;
}

}  // namespace

namespace {

// The source read and its record settled (inferred, adapted), nothing built yet.
struct Resolved {
    ModelSource src;
    model::ViTConfig cfg;
    std::vector<int> removed;
    bool folded = false;  // a file without Dilute metadata: removed blocks keep the explicit doubling
    bool preset = false, newHead = false;
    std::vector<std::string> adapted;
    std::vector<int> selection;  // provenance, checked whether or not it is asked for
};

Resolved resolve(const std::string& spec, const OpenOptions& opts) {
    const Adaptation adapt{opts.img_size, opts.num_classes, opts.data};
    Resolved r;
    if (model::isPreset(spec) && !fs::exists(spec)) {
        r.preset = true;
        r.cfg = model::preset(spec);
        r.src.path = spec;
        r.src.format = "preset";
        r.src.layout = "timm";
        adaptSource(r.cfg, r.src.tensors, adapt, &r.adapted, spec);
        return r;
    }
    r.src = readSource(weightsOf(spec), SourceOptions{opts.weights_key});
    if (r.src.format == "dilute safetensors")
        r.cfg = recordedConfig(r.src, opts, &r.removed, &r.folded);
    else
        r.cfg = inferConfig(r.src, InferOptions{opts.arch, opts.heads}, &r.removed);
    r.newHead = adaptSource(r.cfg, r.src.tensors, adapt, &r.adapted, spec);
    r.selection = recordedSelection(r.src, r.cfg.depth);
    return r;
}

ModelOrigin originOf(const Resolved& r) {
    return ModelOrigin{r.src.format, r.src.layout, r.src.mapping, r.adapted, r.selection};
}

}  // namespace

model::ViTConfig describeModel(const std::string& spec, const OpenOptions& opts, ModelOrigin* origin) {
    auto r = resolve(spec, opts);
    if (origin) *origin = originOf(r);
    return r.cfg;
}

model::VisionTransformer openModel(const std::string& spec, const OpenOptions& opts,
                                   std::map<std::string, std::string>* metadata, LoadReport* report,
                                   ModelOrigin* origin) {
    auto r = resolve(spec, opts);
    if (origin) *origin = originOf(r);
    auto m = model::buildModel(r.cfg, r.removed, r.folded);
    if (r.preset) {
        m->initWeights(opts.seed);
        return m;
    }
    auto rep =
        r.newHead ? loadWithNewHead(*m, r.src, spec, opts.seed) : loadStateDict(*m, r.src.tensors, opts.strict, spec);
    applyLambdas(*m, r.src);
    if (report) *report = rep;
    if (metadata) *metadata = r.src.metadata;
    return m;
}

}  // namespace dilute::io
