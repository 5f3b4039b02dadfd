// Model folders (issue 26, part 5): a timm hub folder's or a Hugging Face folder's config.json
// (architecture, model_args, pretrained_cfg, id2label, the HF sizes) read beside fixed, valid
// weights, then the model built and moved to the config. The first byte picks the layout of the
// weights (timm or Hugging Face ViT keys); the rest is config.json. Only dilute::Error may come out.
#include <torch/torch.h>

#include <filesystem>

#include "fuzz_common.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "model/vit.h"
#include "util/error.h"
#include "util/runtime.h"

namespace {
// A tiny plain ViT (16 px, patch 8, width 8, 2 heads, 1 block, 3 classes), its weights with timm's
// keys and with Hugging Face's (query/key/value split), written once.
std::string weightsDir(bool hf) {
    static const std::string timmDir = dilute::fuzz::freshDir("timm-weights"),
                             hfDir = dilute::fuzz::freshDir("hf-weights");
    static const bool written = [] {
        auto c = dilute::model::preset("deit_tiny_patch16_224");
        c.img_size = 16, c.patch_size = 8, c.embed_dim = 8, c.num_heads = 2, c.depth = 1, c.num_classes = 3;
        auto m = dilute::model::buildModel(c);
        m->initWeights(1);
        std::vector<std::pair<std::string, torch::Tensor>> timm, hf;
        for (const auto& p : m->named_parameters()) {
            timm.emplace_back(p.key(), p.value());
            std::string k = p.key();
            if (k.find("attn.qkv.") != std::string::npos) {
                const auto parts = p.value().chunk(3, 0);
                const std::string kind = k.substr(k.rfind('.') + 1);
                const char* names[] = {"query", "key", "value"};
                for (int i = 0; i < 3; ++i)
                    hf.emplace_back("vit.encoder.layer.0.attention.attention." + std::string(names[i]) + "." + kind,
                                    parts[i]);
                continue;
            }
            hf.emplace_back("vit." + k, p.value());  // the rest left in timm names: the reader says what it ignores
        }
        dilute::io::writeSafetensors(timmDir + "/model.safetensors", timm);
        dilute::io::writeSafetensors(hfDir + "/model.safetensors", hf);
        return true;
    }();
    (void)written;
    return hf ? hfDir : timmDir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool once = [] {
        dilute::setThreads(1);
        return true;
    }();
    (void)once;
    if (size < 1) return 0;
    const std::string dir = weightsDir(data[0] % 2 == 1);
    const auto cfg = dilute::fuzz::writeFile("config.json", data + 1, size - 1);
    std::filesystem::copy_file(cfg, dir + "/config.json", std::filesystem::copy_options::overwrite_existing);
    try {
        auto m = dilute::io::openModel(dir);
        (void)m;
    } catch (const dilute::Error&) {}
    return 0;
}
