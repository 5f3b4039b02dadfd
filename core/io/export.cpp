#include "io/export.h"

#include <cstdio>
#include <filesystem>

#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>

#include "io/checkpoint.h"
#include "io/modelref.h"
#include "io/onnx.h"
#include "io/timmfolder.h"
#include "io/weights.h"
#include "util/blocklist.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::io {

std::string weightsOf(const std::string& p) {
    if (!fs::isDirectory(p)) return p;
    const auto final = fs::join(p, "final.safetensors");
    if (fs::exists(final)) return final;
    if (fs::isDirectory(fs::join(p, "checkpoints"))) {
        const auto last = checkpointWeights(fs::join(p, "checkpoints"), "last");
        if (!last.empty()) return last;
    }
    for (const char* w : {"model.safetensors", "pytorch_model.bin"})
        if (fs::exists(fs::join(p, w))) return p;  // a timm hub or Hugging Face folder (io/source.h reads it)
    throw Error(p +
                ": holds neither a run's weights (final.safetensors, checkpoints/last.json) nor a model folder's "
                "(config.json with model.safetensors or pytorch_model.bin)");
}

namespace {
// The deployment forms: ONNX and the timm folder, when asked for.
void writeDeployForms(model::VisionTransformerImpl& m, const ExportOptions& o, ExportResult& r) {
    if (!o.onnx.empty()) {
        OnnxOptions oo;
        oo.opset = o.onnx_opset;
        const auto rep = saveOnnx(m, o.onnx, oo);
        r.onnx_nodes = rep.nodes;
        r.onnx_external = rep.external_data;
    }
    if (!o.timm.empty()) saveTimmFolder(m, o.timm);
}

// The model as it is: blocks diluted to 0 lose their attention (absent from the graph).
ExportResult exportAsIs(const ExportOptions& o) {
    ExportResult r;
    r.source = weightsOf(o.model);
    auto m = openModel(r.source, openOptionsOf(o));
    m->eval();
    r.already_removed = m->removedBlocks();
    const auto remove = parseBlockList(o.remove, m->depth());
    for (int i = 0; i < m->depth(); ++i)
        if ((m->block(i)->mode() == model::BlockMode::Diluted && m->block(i)->lambda() == 0.0) ||
            (std::count(remove.begin(), remove.end(), i) && m->block(i)->mode() != model::BlockMode::Removed))
            r.removed.push_back(i);
    if (!r.removed.empty()) m->removeAttention(r.removed, o.fold);  // a folded model refuses, naming why
    writeDeployForms(*m, o, r);
    return r;
}
}  // namespace

ExportResult exportPruned(const ExportOptions& o) {
    if (o.out.empty() && o.onnx.empty() && o.timm.empty())
        throw Error("export needs --out FILE.safetensors (or --onnx FILE.onnx, --timm DIR)");
    if (!o.onnx.empty() && !onnxAvailable())
        throw Error(o.onnx + ": this build writes no ONNX (configure with libonnx-dev installed)");
    // Every output's folder is checked before anything is written: no half-done export.
    if (!o.timm.empty() && std::filesystem::exists(o.timm) &&
        !(std::filesystem::is_directory(o.timm) && std::filesystem::is_empty(o.timm)))
        throw Error(o.timm + ": exists and is not an empty folder; remove it or choose another --timm folder");
    for (const auto& path : {o.out, o.torchscript, o.onnx}) {
        if (path.empty()) continue;
        const auto dir = std::filesystem::path(path).parent_path().string();
        fs::ensureWritableDir(dir.empty() ? "." : dir);
        if (fs::isDirectory(path)) throw Error(path + ": is a folder; give a file name");
    }
    if (!o.out.empty() && !o.remove.empty())
        throw Error("--remove is a what-if for --onnx / --timm alone; with --out, dilution decides (or --force)");
    if (o.out.empty()) {
        if (!o.torchscript.empty()) throw Error("--torchscript needs --out FILE.safetensors");
        return exportAsIs(o);
    }
    ExportResult r;
    r.source = weightsOf(o.model);
    auto m = openModel(r.source, openOptionsOf(o));
    m->eval();
    r.already_removed = m->removedBlocks();
    std::vector<int> notZero;
    for (int i = 0; i < m->depth(); ++i) {
        auto b = m->block(i);
        if (b->mode() == model::BlockMode::Diluted) {
            if (b->lambda() == 0.0 || o.force)
                r.removed.push_back(i);
            else
                notZero.push_back(i);
        }
    }
    if (!notZero.empty()) {
        std::string list;
        for (int i : notZero)
            list += " " + std::to_string(i) + " (lambda " + std::to_string(m->block(i)->lambda()) + ")";
        throw Error(
            r.source + ": selected blocks still use their attention:" + list +
            "; train until lambda reaches 0, or pass --force to remove them anyway (changes the model's output)");
    }
    if (r.removed.empty() && r.already_removed.empty())
        throw Error(r.source + ": no block is diluted to lambda 0, nothing to remove (train with --select first)");
    torch::NoGradGuard ng;
    torch::manual_seed(0);
    const auto& c = m->config();
    auto x = torch::randn({4, c.in_chans, c.img_size, c.img_size});
    auto before = m->forward(x);
    if (!r.already_removed.empty() && !m->folded() && o.fold && !r.removed.empty())
        throw Error(r.source + ": model already has unfolded removed blocks; export with --no-fold");
    m->removeAttention(r.removed, false);
    if (o.fold) m->fold();
    auto after = m->forward(x);
    r.max_abs_diff = (before - after).abs().max().item<double>();
    saveModel(*m, o.out);
    if (!o.torchscript.empty()) {
        try {
            saveTorchScript(*m, o.torchscript);
        } catch (const std::exception& e) {
            std::remove(o.out.c_str());  // the pair is written whole or not at all
            throw Error(o.torchscript + ": cannot write the TorchScript module (" +
                        std::string(e.what()).substr(0, 300) + "); " + o.out + " was removed again");
        }
        auto ts = torch::jit::load(o.torchscript);
        auto y = ts.forward({x}).toTensor();
        r.torchscript_max_abs_diff = (y - after).abs().max().item<double>();
    }
    writeDeployForms(*m, o, r);
    return r;
}

}  // namespace dilute::io
