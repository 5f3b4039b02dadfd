#include "io/source.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "io/layouts.h"
#include "io/safetensors.h"
#include "io/torchfile.h"
#include "util/error.h"
#include "util/files.h"
#include "util/json_num.h"

namespace dilute::io {
using json = nlohmann::json;

namespace {

bool endsWith(const std::string& s, const char* e) {
    const std::string x(e);
    return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

bool isSafetensors(const std::string& path) { return endsWith(path, ".safetensors"); }

// id2label {"0": "cat", ...} (Hugging Face) into a list, when it names every class 0..n-1.
std::vector<std::string> labelsOf(const json& id2label) {
    std::vector<std::string> out(id2label.size());
    for (auto it = id2label.begin(); it != id2label.end(); ++it) {
        size_t i = 0;
        try {
            i = std::stoul(it.key());
        } catch (...) {
            return {};
        }
        if (i >= out.size() || !it->is_string()) return {};
        out[i] = it->get<std::string>();
    }
    return out;
}

// timm hub config.json: architecture, num_classes, global_pool, model_args, pretrained_cfg, label_names.
void timmHints(const json& c, ArchHints& h) {
    h.name = c.value("architecture", std::string());
    h.num_classes = jsonnum::value<int>(c, "num_classes", -1);
    h.global_pool = c.value("global_pool", std::string());
    if (c.contains("label_names") && c["label_names"].is_array())
        h.class_names = c["label_names"].get<std::vector<std::string>>();
    if (c.contains("model_args") && c["model_args"].is_object()) {
        const auto& a = c["model_args"];
        h.heads = jsonnum::value<int>(a, "num_heads", 0);
        h.init_values = jsonnum::value<double>(a, "init_values", 0.0);
        if (a.contains("img_size") && a["img_size"].is_number())
            h.img_size = jsonnum::as<int>(a["img_size"], "img_size");
        if (a.contains("global_pool") && a["global_pool"].is_string())
            h.global_pool = a["global_pool"].get<std::string>();
        if (a.contains("fc_norm") && a["fc_norm"].is_boolean()) h.fc_norm = a["fc_norm"].get<bool>();
    }
    if (c.contains("pretrained_cfg") && c["pretrained_cfg"].is_object()) {
        const auto& p = c["pretrained_cfg"];
        if (p.contains("input_size") && p["input_size"].is_array() && p["input_size"].size() == 3 && !h.img_size)
            h.img_size = jsonnum::as<int>(p["input_size"][2], "input_size");
        if (p.contains("mean")) h.mean = jsonnum::list<double>(p, "mean");
        if (p.contains("std")) h.std = jsonnum::list<double>(p, "std");
        h.crop_pct = jsonnum::value<double>(p, "crop_pct", 0.0);
        h.interpolation = p.value("interpolation", std::string());
    }
}

// Hugging Face transformers config.json (ViT, DeiT) and preprocessor_config.json.
void hfHints(const json& c, const std::string& dir, ArchHints& h) {
    h.name = c.value("model_type", std::string());
    h.heads = jsonnum::value<int>(c, "num_attention_heads", 0);
    h.eps = jsonnum::value<double>(c, "layer_norm_eps", 1e-12);
    h.img_size = jsonnum::value<int>(c, "image_size", 0);
    if (c.contains("id2label") && c["id2label"].is_object()) h.class_names = labelsOf(c["id2label"]);
    h.mean = {0.5, 0.5, 0.5};  // ViTImageProcessor's defaults: resize to the input size, no crop
    h.std = {0.5, 0.5, 0.5};
    h.crop_pct = 1.0;
    h.interpolation = "bilinear";
    const std::string pp = fs::join(dir, "preprocessor_config.json");
    if (fs::exists(pp)) {
        const auto p = jsonnum::parseFile(pp);
        if (p.contains("image_mean")) h.mean = jsonnum::list<double>(p, "image_mean");
        if (p.contains("image_std")) h.std = jsonnum::list<double>(p, "image_std");
        if (jsonnum::value<int>(p, "resample", 2) == 3) h.interpolation = "bicubic";
    }
}

void readWeightsFile(ModelSource& s, const std::string& file, const SourceOptions& o) {
    if (isSafetensors(file)) {
        auto f = readSafetensors(file);
        s.tensors = std::move(f.tensors);
        s.metadata = std::move(f.metadata);
        s.format = s.metadata.count("dilute.arch") ? "dilute safetensors" : "safetensors";
        return;
    }
    auto sd = readTorchStateDict(file, o.weights_key);
    s.format = sd.format;
    s.tensors = std::move(sd.tensors);
    if (!sd.entry.empty()) s.mapping.push_back("weights from the checkpoint entry '" + sd.entry + "'");
    if (!sd.others.empty()) {
        std::string list;
        for (const auto& k : sd.others) list += (list.empty() ? "" : ", ") + k;
        s.mapping.push_back("ignored the checkpoint's other entries (optimizer state, arguments ...): " + list);
    }
    if (!sd.skipped.empty())
        s.mapping.push_back("ignored " + std::to_string(sd.skipped.size()) + " non-tensor entries");
}

void readFolder(ModelSource& s, const SourceOptions& o) {
    const std::string cfg = fs::join(s.path, "config.json");
    if (!fs::exists(cfg))
        throw Error(s.path + ": a folder without config.json (expected a timm hub or Hugging Face model folder)");
    json c;
    try {
        c = jsonnum::parseFile(cfg);
        if (c.contains("architecture")) {
            timmHints(c, s.hints);
        } else if (c.contains("model_type")) {
            hfHints(c, s.path, s.hints);
        } else {
            throw Error(cfg + ": neither a timm config (architecture) nor a Hugging Face one (model_type)");
        }
    } catch (const json::exception& e) {
        throw Error(cfg + ": " + jsonnum::message(e));
    }
    std::string weights;
    for (const char* f : {"model.safetensors", "pytorch_model.bin", "model.pth"})
        if (fs::exists(fs::join(s.path, f))) {
            weights = fs::join(s.path, f);
            break;
        }
    if (weights.empty()) throw Error(s.path + ": no model.safetensors or pytorch_model.bin beside config.json");
    readWeightsFile(s, weights, o);
    s.format = c.contains("architecture") ? "timm hub folder" : "Hugging Face folder";
}

}  // namespace

ModelSource readSource(const std::string& path, const SourceOptions& o) {
    ModelSource s;
    s.path = path;
    if (fs::isDirectory(path))
        readFolder(s, o);
    else if (fs::exists(path))
        readWeightsFile(s, path, o);
    else
        throw Error(path + ": no such file or folder, and not a preset name (see `dilute info --list`)");
    if (s.format == "dilute safetensors") {
        s.layout = "timm";
        return s;
    }
    s.layout = layouts::detect(s.tensors);
    if (s.layout.empty()) throw Error(path + ": the tensors fit no known ViT layout (timm, Hugging Face, torchvision)");
    s.tensors = layouts::toTimm(s.layout, std::move(s.tensors), path, &s.mapping);
    for (const auto& [k, v] : s.tensors)
        if (k == "head_dist.weight")
            s.mapping.push_back("head and head_dist averaged at inference (DeiT with teacher)");
    return s;
}

}  // namespace dilute::io
