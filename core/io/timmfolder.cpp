#include "io/timmfolder.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <random>

#include "io/weights.h"
#include "model/preset.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::io {

namespace {
#include "dilute_vit_py.h"  // kDiluteVitPy: resources/python/dilute_vit.py, embedded at build time

using json = nlohmann::json;

// timm's name for the architecture: the preset's own when timm has it, else the plain (or
// distilled) tiny ViT, which model_args then override field by field.
std::string timmArchitecture(const model::ViTConfig& c) {
    if (model::isPreset(c.name) && c.img_size >= 224 && c.name.find("_28") == std::string::npos) return c.name;
    return c.distilled ? "deit_tiny_distilled_patch16_224" : "vit_tiny_patch16_224";
}

std::string readme(model::VisionTransformerImpl& m) {
    const auto& c = m.config();
    const auto removed = m.removedBlocks();
    const bool folded = m.folded();
    std::string diluting;
    for (int i = 0; i < m.depth(); ++i)
        if (m.block(i)->mode() == model::BlockMode::Diluted)
            diluting += (diluting.empty() ? "" : ", ") + std::to_string(i) + " (lambda " +
                        std::to_string(m.block(i)->lambda()) + ")";
    std::string r = "# " + c.name + " exported by Dilute\n\n";
    if (!diluting.empty())
        r += "Exported during dilution: blocks " + diluting +
             " compute x -> (2 - lambda) x + lambda attn(x), which timm's "
             "Block does not; `dilute_vit.load(\"DIR\")` does.\n\n";
    if (removed.empty() && diluting.empty()) {
        r += "Nothing is removed: timm loads this folder as it is,\n\n"
             "    model = timm.create_model(\"" +
             timmArchitecture(c) +
             "\", pretrained=True,\n"
             "        pretrained_cfg_overlay=dict(file=\"DIR/model.safetensors\"), **config[\"model_args\"])\n\n"
             "and so does `dilute_vit.load(\"DIR\")` (only torch needed).\n";
    } else if (!removed.empty()) {
        std::string list;
        for (int b : removed) list += (list.empty() ? "" : ", ") + std::to_string(b);
        r += "Blocks " + list +
             " are MLP-only: their attention was removed (\"MLP Can Be A Good Transformer Learner\", " +
             "CVPR 2024). In those blocks x -> " +
             (folded ? "x (the doubling is folded into later output layers)" : "2 x") +
             ", then the MLP residual. timm's VisionTransformer cannot load a block without attention; load it with\n\n"
             "    import dilute_vit\n    model = dilute_vit.load(\"DIR\")   # timm's model when timm is installed, "
             "else plain torch\n";
    }
    return r + "\nPreprocessing (pretrained_cfg in config.json): input " + std::to_string(c.in_chans) + "x" +
           std::to_string(c.img_size) + "x" + std::to_string(c.img_size) + ", resize the shorter side to " +
           std::to_string(c.eval_resize) + " (" + c.interpolation + "), centre crop, then (x - mean) / std.\n";
}
}  // namespace

std::string timmConfigJson(model::VisionTransformerImpl& m) {
    const auto& c = m.config();
    json lambdas = json::object();  // blocks still diluting (an export made during dilution)
    for (int i = 0; i < m.depth(); ++i)
        if (m.block(i)->mode() == model::BlockMode::Diluted) lambdas[std::to_string(i)] = m.block(i)->lambda();
    json args = {{"img_size", c.img_size},
                 {"patch_size", c.patch_size},
                 {"in_chans", c.in_chans},
                 {"num_classes", c.num_classes},
                 {"embed_dim", c.embed_dim},
                 {"depth", c.depth},
                 {"num_heads", c.num_heads},
                 {"mlp_ratio", c.mlp_ratio},
                 {"qkv_bias", c.qkv_bias},
                 {"qk_norm", c.qk_norm},
                 {"init_values", c.layerScale() ? json(c.init_values) : json(nullptr)},
                 {"class_token", c.class_token},
                 {"reg_tokens", c.reg_tokens},
                 {"no_embed_class", c.no_embed_class},
                 {"pre_norm", c.pre_norm},
                 {"fc_norm", c.fc_norm},
                 {"global_pool", c.global_pool}};
    json pre = {{"input_size", {c.in_chans, c.img_size, c.img_size}},
                {"interpolation", c.interpolation},
                {"mean", c.mean},
                {"std", c.std},
                {"crop_pct", double(c.img_size) / double(c.eval_resize)},
                {"crop_mode", "center"},
                {"num_classes", c.num_classes}};
    if (!c.class_names.empty()) pre["label_names"] = c.class_names;
    json j = {{"architecture", timmArchitecture(c)},
              {"num_classes", c.num_classes},
              {"num_features", c.embed_dim},
              {"global_pool", c.global_pool},
              {"model_args", args},
              {"pretrained_cfg", pre},
              {"dilute",
               {{"removed_blocks", m.removedBlocks()},
                {"folded", m.folded()},
                {"lambdas", lambdas},
                {"norm_eps", c.norm_eps},
                {"distilled", c.distilled},
                {"loader", "dilute_vit.py"},
                {"name", c.name}}}};
    return j.dump(2);
}

void saveTimmFolder(model::VisionTransformerImpl& m, const std::string& dir) {
    namespace sfs = std::filesystem;
    if (sfs::exists(dir) && !(sfs::is_directory(dir) && sfs::is_empty(dir)))
        throw Error(dir + ": exists and is not an empty folder; remove it or choose another --timm folder");
    const auto parent = sfs::path(dir).parent_path().string();
    fs::ensureWritableDir(parent.empty() ? "." : parent);
    const std::string tmp = dir + ".tmp-" + std::to_string(std::random_device{}());
    sfs::create_directories(tmp);
    try {
        saveModel(m, fs::join(tmp, "model.safetensors"));
        fs::atomicWriteText(fs::join(tmp, "config.json"), timmConfigJson(m) + "\n");
        fs::atomicWriteText(fs::join(tmp, "dilute_vit.py"), kDiluteVitPy);
        fs::atomicWriteText(fs::join(tmp, "README.md"), readme(m));
        if (sfs::exists(dir)) sfs::remove(dir);  // the empty folder it replaces
        sfs::rename(tmp, dir);
    } catch (...) {
        std::error_code ec;
        sfs::remove_all(tmp, ec);
        throw;
    }
}

}  // namespace dilute::io
