// inspect.json and inspect.safetensors (SPEC section 7): what `dilute inspect -o DIR` writes.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "inspect/job.h"
#include "inspect/overlay.h"
#include "io/safetensors.h"
#include "util/files.h"
#include "util/numtext.h"

namespace dilute::inspect {
using json = nlohmann::json;

namespace {

json imagesJson(const InspectResult& r) {
    auto name = [&](int c) -> json {
        if (c < 0) return nullptr;
        return c < int(r.class_names.size()) ? json(r.class_names[size_t(c)]) : json(std::to_string(c));
    };
    json a = json::array();
    for (size_t i = 0; i < r.images.size(); ++i) {
        const auto& im = r.images[i];
        json j = {{"position", i},
                  {"source", im.source},
                  {"label", im.label < 0 ? json(nullptr) : json(im.label)},
                  {"label_name", name(im.label)},
                  {"prediction", im.pred < 0 ? json(nullptr) : json(im.pred)},
                  {"prediction_name", name(im.pred)}};
        if (im.label >= 0 && im.pred >= 0) j["p_label"] = im.p_label;
        if (r.compared) {
            j["prediction_vs"] = im.pred_vs < 0 ? json(nullptr) : json(im.pred_vs);
            if (im.label >= 0 && im.pred_vs >= 0) j["p_label_vs"] = im.p_label_vs;
        }
        a.push_back(j);
    }
    return a;
}

json comparisonJson(const InspectResult& r) {
    const auto& c = r.comparison;
    json confusionDiff = json::array();
    for (int a = 0; a < r.classes; ++a) {
        json row = json::array();
        for (int b = 0; b < r.classes; ++b)
            row.push_back(c.confusion_vs[size_t(a * r.classes + b)] - c.confusion[size_t(a * r.classes + b)]);
        confusionDiff.push_back(row);
    }
    return {{"vs", c.vs},
            {"top1", c.top1},
            {"top1_vs", c.top1_vs},
            {"right_to_wrong", c.right_to_wrong},
            {"wrong_to_right", c.wrong_to_right},
            {"largest_changes", c.largest_changes},
            {"confusion_diff", confusionDiff},
            {"confusion_note", "rows: label, columns: prediction; the second model's count minus the first's"}};
}

json tensorsJson(const InspectResult& r) {
    const auto N = r.count();
    json t = {{"mean_distance", {r.depth, r.heads}}, {"rollout", {N, r.patches()}}};
    if (r.class_token) t["cls_attention"] = {N, r.depth, r.heads, r.patches()};
    if (!r.logits.empty()) t["logits"] = {N, r.classes};
    if (!r.logits_vs.empty()) t["logits_vs"] = {N, r.classes};
    return t;
}

torch::Tensor floats(const std::vector<float>& v, std::vector<int64_t> shape) {
    return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat).clone();
}

}  // namespace

std::string inspectToJson(const InspectResult& r) {
    json blocks = json::array(), dist = json::array();
    for (int l = 0; l < r.depth; ++l) {
        blocks.push_back({{"block", l}, {"mode", r.modes[size_t(l)]}, {"lambda", r.lambdas[size_t(l)]}});
        json row = json::array();
        for (int h = 0; h < r.heads; ++h) row.push_back(numtext::orNull(r.mean_distance[size_t(l * r.heads + h)]));
        dist.push_back(row);
    }
    json j = {{"format", "dilute.inspect/1"},
              {"model", r.model},
              {"data", r.data},
              {"split", r.split},
              {"input_tensor", r.input},
              {"depth", r.depth},
              {"heads", r.heads},
              {"grid", r.grid},
              {"patch_size", r.patch},
              {"prefix_tokens", r.prefix},
              {"class_token", r.class_token},
              {"classes", r.classes},
              {"blocks", blocks},
              {"mean_distance", dist},
              {"mean_distance_units", "input pixels (patch-grid distance x patch size); null: a removed block"},
              {"images", imagesJson(r)},
              {"tensors", tensorsJson(r)},
              {"seconds", r.seconds}};
    if (!r.class_token)
        j["omitted"] = {{"cls_attention", "the model has no class token; rollout is the mean over the patch rows"}};
    if (r.compared) j["comparison"] = comparisonJson(r);
    return j.dump(2);
}

void writeInspect(const std::string& dir, const InspectResult& r, int overlays) {
    fs::ensureWritableDir(dir);
    const int64_t N = int64_t(r.count()), L = r.depth, H = r.heads, P = r.patches();
    std::vector<float> dist(r.mean_distance.begin(), r.mean_distance.end());
    std::vector<std::pair<std::string, torch::Tensor>> t = {{"mean_distance", floats(dist, {L, H})},
                                                            {"rollout", floats(r.rollout, {N, P})}};
    if (r.class_token) t.emplace_back("cls_attention", floats(r.cls, {N, L, H, P}));
    if (!r.logits.empty()) t.emplace_back("logits", floats(r.logits, {N, r.classes}));
    if (!r.logits_vs.empty()) t.emplace_back("logits_vs", floats(r.logits_vs, {N, r.classes}));
    io::writeSafetensors(fs::join(dir, "inspect.safetensors"), t);
    const auto pngs = writeOverlays(dir, r, overlays);
    auto j = json::parse(inspectToJson(r));
    j["overlays"] = pngs;
    fs::atomicWriteText(fs::join(dir, "inspect.json"), j.dump(2) + "\n");
}

}  // namespace dilute::inspect
