#include "io/info.h"

#include <nlohmann/json.hpp>

#include "model/vit.h"

namespace dilute::io {

ModelInfo runInfo(const InfoOptions& o, const JobObserver<ModelInfo>& obs, const CancelToken* cancel) {
    ModelInfo r;
    if (o.list || o.model.empty()) {
        r.presets = model::presetNames();
        return r;
    }
    r.model = o.model;
    auto m = openModel(o.model, openOptionsOf(o), nullptr, nullptr, &r.origin);
    r.config = m->config();
    r.removed = m->removedBlocks();
    r.folded = m->folded();
    for (int i = 0; i < m->depth(); ++i) r.modes.push_back(model::blockModeName(m->block(i)->mode()));
    for (const auto& p : m->parameters()) r.params += p.numel();
    r.cost = model::analyticCost(r.config, r.removed);
    return r;
}

namespace {

nlohmann::json presetsJson(const std::vector<std::string>& names) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& n : names) {
        const auto c = model::preset(n);
        const auto cost = model::analyticCost(c);
        list.push_back({{"name", n},
                        {"img_size", c.img_size},
                        {"in_chans", c.in_chans},
                        {"embed_dim", c.embed_dim},
                        {"depth", c.depth},
                        {"num_heads", c.num_heads},
                        {"params", cost.params},
                        {"gmac", cost.gmac()},
                        {"data", c.default_data}});
    }
    return {{"presets", list}};
}

}  // namespace

std::string infoToJson(const ModelInfo& r) {
    if (r.model.empty()) return presetsJson(r.presets).dump(2);
    const auto& c = r.config;
    // The architecture as the weights' metadata records it (io/weights.h), then what info adds.
    auto j = nlohmann::json::parse(archToJson(c, r.removed, r.folded));
    j.update({{"model", r.model},
              {"arch", c.name},
              {"params", r.params},
              {"gmac", r.cost.gmac()},
              {"format", r.origin.format},
              {"layout", r.origin.layout},
              {"mapping", r.origin.mapping},
              {"adapted", r.origin.adapted},
              {"selection", r.origin.selection},
              {"family", c.familyFlags()},
              {"layer_scale", c.layerScale()},
              {"class_names", c.class_names}});
    for (size_t i = 0; i < r.modes.size(); ++i) {
        const auto& b = r.cost.blocks[i];
        j["blocks"].push_back({{"index", i},
                               {"mode", r.modes[i]},
                               {"attn_params", b.attn_params},
                               {"mlp_params", b.mlp_params},
                               {"attn_gmac", b.attn_macs / 1e9},
                               {"mlp_gmac", b.mlp_macs / 1e9}});
    }
    return j.dump(2);
}

const InfoJob& infoJob() {
    static const InfoJob job{"info", "Show a model's architecture, parameters and GMAC", infoOptionTable, runInfo,
                             infoToJson};
    return job;
}

}  // namespace dilute::io
