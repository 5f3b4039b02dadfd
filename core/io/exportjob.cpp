#include "io/exportjob.h"

#include <nlohmann/json.hpp>

#include "io/optiontable.h"
#include "io/weights.h"
#include "model/cost.h"
#include "util/error.h"

namespace dilute::io {

ExportResult runExport(const ExportOptions& o, const ExportObserver& obs, const CancelToken* cancel) {
    if (o.model.empty()) throw Error("export needs a model: RUN_DIR, a model file or folder (or --model)");
    validateOptions(exportOptionTable(), o);
    if (o.onnx_opset != 13 && o.onnx_opset != 17)
        throw Error("--onnx-opset " + std::to_string(o.onnx_opset) + ": expected 17 or 13");
    if (cancel) cancel->throwIfCancelled();
    if (obs.progress) obs.progress({"export", 0, 1});
    auto r = exportPruned(o);
    r.options = o;
    if (!o.out.empty()) {
        if (r.source.find("/checkpoints/") != std::string::npos && obs.log)
            obs.log("note: " + o.model + " has no final.safetensors (the run did not finish): exported its last " +
                    "checkpoint, " + r.source);
        auto m = openModel(o.out);
        r.pruned_blocks = m->removedBlocks();
        const auto full = model::analyticCost(m->config()), pruned = model::analyticCost(m->config(), r.pruned_blocks);
        r.params_full = full.params;
        r.params_pruned = pruned.params;
        r.gmac_full = full.gmac();
        r.gmac_pruned = pruned.gmac();
    }
    if (obs.progress) obs.progress({"export", 1, 1});
    return r;
}

std::string exportToJson(const ExportResult& r) {
    const auto& o = r.options;
    nlohmann::json j = {{"source", r.source},
                        {"removed_now", r.removed},
                        {"already_removed", r.already_removed},
                        {"max_abs_logit_diff", r.max_abs_diff}};
    if (!o.out.empty()) {
        j["out"] = o.out;
        j["folded"] = o.fold;
        j["removed_blocks"] = r.pruned_blocks;
        j["params"] = {{"full", r.params_full}, {"pruned", r.params_pruned}};
        j["gmac"] = {{"full", r.gmac_full}, {"pruned", r.gmac_pruned}};
    }
    if (!o.torchscript.empty())
        j["torchscript"] = {{"path", o.torchscript}, {"max_abs_diff", r.torchscript_max_abs_diff}};
    if (!o.onnx.empty())
        j["onnx"] = {{"path", o.onnx}, {"opset", o.onnx_opset}, {"nodes", r.onnx_nodes}, {"external", r.onnx_external}};
    if (!o.timm.empty()) j["timm"] = o.timm;
    return j.dump(2);
}

const ExportJob& exportJob() {
    static const ExportJob job{"export", "Export the pruned model (attention removed) as safetensors / TorchScript",
                               exportOptionTable, runExport, exportToJson};
    return job;
}

}  // namespace dilute::io
