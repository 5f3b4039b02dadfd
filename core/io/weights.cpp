#include "io/weights.h"

#include <torch/torch.h>
#include <zlib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "io/keys.h"
#include "io/safetensors.h"
#include "util/error.h"
#include "util/files.h"
#include "util/json_num.h"

namespace dilute::io {
using json = nlohmann::json;

static std::string shapeStr(at::IntArrayRef s) {
    std::ostringstream ss;
    ss << s;
    return ss.str();
}

std::string LoadReport::describe() const {
    std::ostringstream ss;
    auto list = [&](const char* what, const std::vector<std::string>& v) {
        if (v.empty()) return;
        ss << "\n  " << what << " (" << v.size() << "):";
        for (size_t i = 0; i < v.size() && i < 20; ++i) ss << "\n    " << v[i];
        if (v.size() > 20) ss << "\n    ... and " << v.size() - 20 << " more";
    };
    list("missing keys", missing);
    list("unexpected keys", unexpected);
    list("shape mismatches", mismatched);
    return ss.str();
}

LoadReport loadStateDict(model::VisionTransformerImpl& m, const std::vector<std::pair<std::string, torch::Tensor>>& sd,
                         bool strict, const std::string& source) {
    LoadReport r;
    auto params = m.named_parameters(/*recurse=*/true);
    std::set<std::string> seen;
    std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
    for (const auto& [name, t] : sd) {
        auto* p = params.find(name);
        if (!p) {
            r.unexpected.push_back(name);
            continue;
        }
        seen.insert(name);
        if (!t.is_floating_point()) {
            r.mismatched.push_back(name + ": dtype " + std::string(c10::toString(t.scalar_type())) +
                                   " is not a floating-point type");
            continue;
        }
        if (t.sizes() != p->sizes()) {
            r.mismatched.push_back(name + ": file " + shapeStr(t.sizes()) + " vs model " + shapeStr(p->sizes()));
            continue;
        }
        copies.emplace_back(*p, t);
    }
    for (const auto& item : params)
        if (!seen.count(item.key())) r.missing.push_back(item.key());
    if (strict && !r.clean()) throw Error(source + ": weights do not match the model" + r.describe());
    torch::NoGradGuard ng;
    for (auto& [dst, src] : copies) dst.copy_(src.to(dst.dtype()));
    return r;
}

std::string archToJson(const model::ViTConfig& c, const std::vector<int>& removed, bool folded) {
    json j = {{"name", c.name},
              {"img_size", c.img_size},
              {"patch_size", c.patch_size},
              {"in_chans", c.in_chans},
              {"num_classes", c.num_classes},
              {"embed_dim", c.embed_dim},
              {"depth", c.depth},
              {"num_heads", c.num_heads},
              {"mlp_ratio", c.mlp_ratio},
              {"mean", c.mean},
              {"std", c.std},
              {"eval_resize", c.eval_resize},
              {"interpolation", c.interpolation},
              {"default_data", c.default_data},
              {"class_token", c.class_token},
              {"reg_tokens", c.reg_tokens},
              {"distilled", c.distilled},
              {"no_embed_class", c.no_embed_class},
              {"global_pool", c.global_pool},
              {"fc_norm", c.fc_norm},
              {"qkv_bias", c.qkv_bias},
              {"qk_norm", c.qk_norm},
              {"pre_norm", c.pre_norm},
              {"init_values", c.init_values},
              {"norm_eps", c.norm_eps},
              {"removed_blocks", removed},
              {"folded", folded}};
    if (!c.class_names.empty()) j["class_names"] = c.class_names;
    return j.dump();
}

model::ViTConfig archFromJson(const std::string& text, std::vector<int>* removed, bool* folded) {
    json j;
    try {
        j = json::parse(text);
    } catch (const std::exception& e) {
        throw Error(std::string("architecture metadata is not valid JSON: ") + e.what());
    }
    try {
        model::ViTConfig c;
        c.name = j.at("name").get<std::string>();
        c.img_size = jsonnum::at<int>(j, "img_size");
        c.patch_size = jsonnum::at<int>(j, "patch_size");
        c.in_chans = jsonnum::at<int>(j, "in_chans");
        c.num_classes = jsonnum::at<int>(j, "num_classes");
        c.embed_dim = jsonnum::at<int>(j, "embed_dim");
        c.depth = jsonnum::at<int>(j, "depth");
        c.num_heads = jsonnum::at<int>(j, "num_heads");
        c.mlp_ratio = j.value("mlp_ratio", 4.0);
        c.mean = j.at("mean").get<std::vector<double>>();
        c.std = j.at("std").get<std::vector<double>>();
        c.eval_resize = jsonnum::value<int>(j, "eval_resize", c.img_size);
        c.interpolation = j.value("interpolation", std::string("bicubic"));
        c.default_data = j.value("default_data", std::string());
        // The family fields (absent from files written before them: the plain model's values).
        c.class_token = j.value("class_token", true);
        c.reg_tokens = jsonnum::value<int>(j, "reg_tokens", 0);
        c.distilled = j.value("distilled", false);
        c.no_embed_class = j.value("no_embed_class", false);
        c.global_pool = j.value("global_pool", std::string("token"));
        c.fc_norm = j.value("fc_norm", false);
        c.qkv_bias = j.value("qkv_bias", true);
        c.qk_norm = j.value("qk_norm", false);
        c.pre_norm = j.value("pre_norm", false);
        c.init_values = j.value("init_values", 0.0);
        c.norm_eps = j.value("norm_eps", 1e-6);
        if (j.contains("class_names")) c.class_names = j.at("class_names").get<std::vector<std::string>>();
        if (!c.class_names.empty() && int(c.class_names.size()) != c.num_classes)
            throw Error("class_names has " + std::to_string(c.class_names.size()) + " names for " +
                        std::to_string(c.num_classes) + " classes");
        if (removed)
            *removed = j.contains("removed_blocks") ? jsonnum::list<int>(j, "removed_blocks") : std::vector<int>{};
        if (folded) *folded = j.value("folded", false);
        c.validate();
        if (removed)
            for (int b : *removed)
                if (b < 0 || b >= c.depth) throw Error("removed block " + std::to_string(b) + " out of range");
        return c;
    } catch (const json::exception& e) {
        throw Error(std::string("architecture metadata is incomplete: ") + jsonnum::message(e));
    }
}

void saveModel(model::VisionTransformerImpl& m, const std::string& path,
               const std::map<std::string, std::string>& extra, torch::Dtype dtype) {
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    auto params = m.named_parameters(true);
    for (const auto& key : keys::expectedKeys(m.config(), m.removedBlocks())) {
        auto* p = params.find(key);
        if (!p) throw Error(path + ": model has no parameter '" + key + "' (internal key table mismatch)");
        tensors.emplace_back(key, *p);
    }
    std::map<std::string, std::string> meta = extra;
    meta["format"] = "pt";
    meta["dilute.arch"] = archToJson(m.config(), m.removedBlocks(), m.folded());
    std::vector<double> lambdas;
    bool diluted = false;
    for (int i = 0; i < m.depth(); ++i) {
        lambdas.push_back(m.block(i)->lambda());
        diluted = diluted || m.block(i)->mode() == model::BlockMode::Diluted;
    }
    if (diluted) meta["dilute.lambda"] = json(lambdas).dump();
    writeSafetensors(path, tensors, meta, dtype);
}

std::string weightsFingerprint(model::VisionTransformerImpl& m) {
    torch::NoGradGuard ng;
    uLong crc = ::crc32(0L, Z_NULL, 0);
    auto add = [&](const std::string& name, const torch::Tensor& t) {
        crc = ::crc32(crc, reinterpret_cast<const Bytef*>(name.data()), static_cast<uInt>(name.size()));
        const auto c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
        const auto* p = static_cast<const Bytef*>(c.data_ptr());
        for (size_t off = 0, n = size_t(c.numel()) * sizeof(float); off < n;) {  // uInt: at most 1 GB a call
            const size_t len = std::min<size_t>(n - off, size_t(1) << 30);
            crc = ::crc32(crc, p + off, static_cast<uInt>(len));
            off += len;
        }
    };
    for (const auto& it : m.named_parameters()) add(it.key(), it.value());
    for (const auto& it : m.named_buffers()) add(it.key(), it.value());
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08lx", static_cast<unsigned long>(crc & 0xffffffffUL));
    return hex;
}

std::vector<std::string> nonFiniteParameters(model::VisionTransformerImpl& m) {
    std::vector<std::string> bad;
    torch::NoGradGuard ng;
    for (const auto& it : m.named_parameters())
        if (!torch::isfinite(it.value()).all().item<bool>()) bad.push_back(it.key());
    return bad;
}

}  // namespace dilute::io
