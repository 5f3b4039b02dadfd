// openModel: a preset, a Dilute safetensors file, or any source io/source.h reads.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

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
model::ViTConfig recordedConfig(const ModelSource& src, const OpenOptions& opts, std::vector<int>* removed, bool* folded) {
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
            throw Error(src.path + ": --arch " + opts.arch + " disagrees with the architecture the file records (" + cfg.name +
                        ", D=" + std::to_string(cfg.embed_dim) + ", depth " + std::to_string(cfg.depth) + ", " +
                        std::to_string(cfg.num_classes) + " classes); leave --arch out for this file");
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

}  // namespace

model::VisionTransformer openModel(const std::string& spec, const OpenOptions& opts,
                                   std::map<std::string, std::string>* metadata, LoadReport* report, ModelOrigin* origin) {
    if (model::isPreset(spec) && !fs::exists(spec)) {
        auto m = model::buildModel(model::preset(spec));
        m->initWeights(opts.seed);
        if (origin) *origin = ModelOrigin{};
        return m;
    }
    auto src = readSource(spec, SourceOptions{opts.weights_key});
    model::ViTConfig cfg;
    std::vector<int> removed;
    bool folded = false;  // a file without Dilute metadata: removed blocks keep the explicit doubling
    if (src.format == "dilute safetensors")
        cfg = recordedConfig(src, opts, &removed, &folded);
    else
        cfg = inferConfig(src, InferOptions{opts.arch, opts.heads}, &removed);
    auto m = model::buildModel(cfg, removed, folded);
    auto r = loadStateDict(*m, src.tensors, opts.strict, spec);
    applyLambdas(*m, src);
    if (report) *report = r;
    if (metadata) *metadata = src.metadata;
    if (origin) *origin = ModelOrigin{src.format, src.layout, src.mapping};
    return m;
}

}  // namespace dilute::io
