#include "io/onnx.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "util/error.h"
#include "util/files.h"

#if DILUTE_WITH_ONNX
#include <onnx/checker.h>
#include <nlohmann/json.hpp>

#include "io/onnx_graph.h"
#include "io/weights.h"
#endif

namespace dilute::io {

#if !DILUTE_WITH_ONNX
bool onnxAvailable() { return false; }
OnnxReport saveOnnx(model::VisionTransformerImpl&, const std::string& path, const OnnxOptions&) {
    throw Error(path + ": this build writes no ONNX (configure with libonnx-dev installed)");
}
#else
bool onnxAvailable() { return true; }

namespace {
using onnxg::Graph;

// LayerScale folded into the Linear it follows: gamma (W x + b) = (gamma W) x + gamma b.
std::pair<torch::Tensor, torch::Tensor> scaled(const torch::nn::Linear& l, const model::LayerScale& ls) {
    if (!ls) return {l->weight, l->bias};
    return {l->weight * ls->gamma.unsqueeze(1), l->bias.defined() ? l->bias * ls->gamma : l->bias};
}

// [N, T, D] -> [N, H, T, hd]
std::string heads(Graph& g, const std::string& x, int64_t H, int64_t hd, const std::string& name) {
    auto r = g.op("Reshape", {x, g.ints(name + ".shape", {0, 0, H, hd})}, name + ".split_heads");
    auto t = g.op("Transpose", {r}, name + ".heads");
    g.attr("perm", std::vector<int64_t>{0, 2, 1, 3});
    return t;
}

std::string attention(Graph& g, model::BlockImpl& b, const std::string& x, const std::string& p) {
    auto& a = *b.attn;
    const int64_t D = a.qkv->weight.size(1), H = a.num_heads, hd = D / H;
    auto h = g.layerNorm(x, b.norm1->weight, b.norm1->bias, b.norm1->options.eps(), p + ".norm1");
    auto qkv = g.linear(h, a.qkv->weight, a.qkv->bias, p + ".attn.qkv");
    auto parts = g.node("Split", {qkv, g.ints(p + ".attn.split", {D, D, D})}, p + ".attn.qkv_split", 3);
    g.attr("axis", int64_t(-1));
    auto q = heads(g, parts[0], H, hd, p + ".attn.q"), k = heads(g, parts[1], H, hd, p + ".attn.k");
    auto v = heads(g, parts[2], H, hd, p + ".attn.v");
    if (a.q_norm) {
        q = g.layerNorm(q, a.q_norm->weight, a.q_norm->bias, a.q_norm->options.eps(), p + ".attn.q_norm");
        k = g.layerNorm(k, a.k_norm->weight, a.k_norm->bias, a.k_norm->options.eps(), p + ".attn.k_norm");
    }
    q = g.mulConst(q, float(1.0 / std::sqrt(double(hd))), p + ".attn.q_scaled");
    auto kt = g.op("Transpose", {k}, p + ".attn.k_t");
    g.attr("perm", std::vector<int64_t>{0, 1, 3, 2});
    auto probs = g.op("Softmax", {g.op("MatMul", {q, kt}, p + ".attn.scores")}, p + ".attn.probs");
    g.attr("axis", int64_t(-1));
    auto o = g.op("Transpose", {g.op("MatMul", {probs, v}, p + ".attn.context")}, p + ".attn.merge");
    g.attr("perm", std::vector<int64_t>{0, 2, 1, 3});
    o = g.op("Reshape", {o, g.ints(p + ".attn.shape", {0, 0, D})}, p + ".attn.merged");
    const auto [w, bias] = scaled(a.proj, b.ls1);
    return g.linear(o, w, bias, p + ".attn.proj");
}

// One block as it computes (model/block.h): full, diluted at lambda (x (2 - lambda) + lambda a),
// diluted to 0 (x 2, no attention) or removed (its residual scale, nothing when folded).
std::string block(Graph& g, model::BlockImpl& b, std::string x, int i) {
    const std::string p = "blocks." + std::to_string(i);
    if (b.mode() == model::BlockMode::Full) {
        x = g.op("Add", {x, attention(g, b, x, p)}, p + ".attn_residual");
    } else if (b.mode() == model::BlockMode::Diluted && b.lambda() > 0.0) {
        auto a = g.mulConst(attention(g, b, x, p), float(b.lambda()), p + ".attn_lambda");
        x = g.op("Add", {g.mulConst(x, float(2.0 - b.lambda()), p + ".keep"), a}, p + ".attn_residual");
    } else {
        const double keep = b.mode() == model::BlockMode::Removed ? b.residualScale() : 2.0;
        if (keep != 1.0) x = g.mulConst(x, float(keep), p + ".residual_scale");
    }
    auto h = g.layerNorm(x, b.norm2->weight, b.norm2->bias, b.norm2->options.eps(), p + ".norm2");
    h = g.gelu(g.linear(h, b.mlp->fc1->weight, b.mlp->fc1->bias, p + ".mlp.fc1"), p + ".mlp.act");
    const auto [w, bias] = scaled(b.mlp->fc2, b.ls2);
    return g.op("Add", {x, g.linear(h, w, bias, p + ".mlp.fc2")}, p + ".mlp_residual");
}

std::string embed(Graph& g, model::VisionTransformerImpl& m, const std::string& input) {
    const auto& c = m.config();
    std::vector<std::string> in = {input, g.weight("patch_embed.proj.weight", m.patch_embed->proj->weight)};
    if (m.patch_embed->proj->bias.defined()) in.push_back(g.weight("patch_embed.proj.bias", m.patch_embed->proj->bias));
    auto x = g.op("Conv", in, "patch_embed.proj");
    g.attr("kernel_shape", std::vector<int64_t>{c.patch_size, c.patch_size});
    g.attr("strides", std::vector<int64_t>{c.patch_size, c.patch_size});
    x = g.op("Reshape", {x, g.ints("patch_embed.shape", {0, c.embed_dim, -1})}, "patch_embed.flatten");
    x = g.op("Transpose", {x}, "patch_embed.tokens");
    g.attr("perm", std::vector<int64_t>{0, 2, 1});
    // The prefix tokens without batch-shaped ops (Shape / Expand): the patches padded with zero
    // rows in front, plus one constant table of the prefix tokens and the position embedding,
    // added in float32 as timm adds them, so every row is exactly timm's.
    const int P = c.numPrefix();
    if (P == 0) {
        x = g.op("Add", {x, g.weight("pos_embed", m.pos_embed.squeeze(0))}, "pos_embed.add");
    } else {
        std::vector<torch::Tensor> prefix;
        for (const auto* t : {&m.cls_token, &m.dist_token, &m.reg_token})
            if (t->defined()) prefix.push_back(*t);
        const auto tokens = torch::cat(prefix, 1);
        const auto& pos = m.pos_embed;
        const auto table = c.no_embed_class
                               ? torch::cat({tokens, pos}, 1)
                               : torch::cat({tokens + pos.narrow(1, 0, P), pos.narrow(1, P, pos.size(1) - P)}, 1);
        x = g.op("Pad", {x, g.ints("tokens.pads", {0, P, 0, 0, 0, 0})}, "tokens.prefix_rows");
        x = g.op("Add", {x, g.weight("tokens_and_pos_embed", table.squeeze(0))},
                 "tokens");  // [T, D]: broadcast over the batch
    }
    if (m.norm_pre) x = g.layerNorm(x, m.norm_pre->weight, m.norm_pre->bias, m.norm_pre->options.eps(), "norm_pre");
    return x;
}

// Final norm, pooling (class token or the patches' mean), fc_norm, head(s).
std::string headOf(Graph& g, model::VisionTransformerImpl& m, std::string x) {
    const auto& c = m.config();
    if (m.norm) x = g.layerNorm(x, m.norm->weight, m.norm->bias, m.norm->options.eps(), "norm");
    auto token = [&](int64_t i, const std::string& name) {
        auto picked = g.op("Gather", {x, g.index(name + ".index", i)}, name);  // a scalar index drops the axis
        g.attr("axis", int64_t(1));
        return picked;
    };
    std::string f;
    if (c.distilled || c.global_pool == "token") {
        f = token(0, "pool.cls");
    } else {
        auto patches = g.op("Slice",
                            {x, g.ints("pool.start", {c.numPrefix()}),
                             g.ints("pool.end", {std::numeric_limits<int64_t>::max()}), g.ints("pool.axes", {1})},
                            "pool.patches");
        f = g.op("ReduceMean", {patches}, "pool.mean");
        g.attr("axes", std::vector<int64_t>{1});
        g.attr("keepdims", int64_t(0));
    }
    if (m.fc_norm && !c.distilled)
        f = g.layerNorm(f, m.fc_norm->weight, m.fc_norm->bias, m.fc_norm->options.eps(), "fc_norm");
    if (!m.head && c.distilled) {  // the feature: class and distillation tokens side by side
        auto both = g.op("Concat", {f, token(1, "pool.dist")}, "pool.both");
        g.attr("axis", int64_t(1));
        return both;
    }
    if (!m.head) return f;
    auto logits = g.linear(f, m.head->weight, m.head->bias, "head");
    if (!m.head_dist) return logits;
    auto dist = g.linear(token(1, "pool.dist"), m.head_dist->weight, m.head_dist->bias, "head_dist");
    return g.mulConst(g.op("Add", {logits, dist}, "heads.sum"), 0.5f, "heads.mean");
}

void valueInfo(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = t->mutable_shape();
    shape->add_dim()->set_dim_param("batch");
    for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

void metadata(onnx::ModelProto& model, model::VisionTransformerImpl& m) {
    const auto& c = m.config();
    auto prop = [&](const std::string& k, const std::string& v) {
        auto* e = model.add_metadata_props();
        e->set_key(k);
        e->set_value(v);
    };
    const nlohmann::json pre = {{"input_size", {c.in_chans, c.img_size, c.img_size}},
                                {"mean", c.mean},
                                {"std", c.std},
                                {"resize_shorter_side", c.eval_resize},
                                {"crop", "centre"},
                                {"crop_pct", double(c.img_size) / double(c.eval_resize)},
                                {"interpolation", c.interpolation},
                                {"layout", "NCHW, RGB (grey: 1 channel), 0..1 then (x - mean) / std"}};
    prop("preprocessing", pre.dump());
    prop("class_names", nlohmann::json(c.class_names).dump());
    prop("removed_blocks", nlohmann::json(m.removedBlocks()).dump());
    prop("dilute.arch", archToJson(c, m.removedBlocks(), m.folded()));
}

// Initializers above the limit move to one file beside the model (ONNX's external data).
std::string externalise(onnx::ModelProto& model, const std::string& path) {
    const std::string file = path + ".data", location = std::filesystem::path(file).filename().string();
    std::string blob;
    for (auto& t : *model.mutable_graph()->mutable_initializer()) {
        if (t.raw_data().size() < 1024) continue;
        auto kv = [&](const std::string& k, const std::string& v) {
            auto* e = t.add_external_data();
            e->set_key(k);
            e->set_value(v);
        };
        kv("location", location);
        kv("offset", std::to_string(blob.size()));
        kv("length", std::to_string(t.raw_data().size()));
        blob += t.raw_data();
        t.clear_raw_data();
        t.set_data_location(onnx::TensorProto::EXTERNAL);
    }
    fs::atomicWriteBytes(file, blob.data(), blob.size());
    return file;
}

}  // namespace

OnnxReport saveOnnx(model::VisionTransformerImpl& m, const std::string& path, const OnnxOptions& o) {
    if (o.opset != 17 && o.opset != 13) throw Error("--onnx-opset " + std::to_string(o.opset) + ": expected 17 or 13");
    torch::NoGradGuard ng;
    onnx::ModelProto model;
    model.set_ir_version(8);
    model.set_producer_name("dilute");
    model.set_model_version(1);
    model.add_opset_import()->set_version(o.opset);
    auto* graph = model.mutable_graph();
    graph->set_name(m.config().name.empty() ? "vit" : m.config().name);
    Graph g(graph, o.opset);
    const auto& c = m.config();
    auto x = embed(g, m, "input");
    for (int i = 0; i < m.depth(); ++i) x = block(g, *m.block(i), x, i);
    const auto out = headOf(g, m, x);
    OnnxReport r;
    r.opset = o.opset;
    r.nodes = graph->node_size();
    r.weight_bytes = g.initializerBytes();
    r.input = "input";
    r.output = c.hasHead() ? "logits" : "features";
    // The last node's output takes the output's name.
    graph->mutable_node(graph->node_size() - 1)->set_output(0, r.output);
    (void)out;
    valueInfo(graph->add_input(), r.input, {c.in_chans, c.img_size, c.img_size});
    valueInfo(graph->add_output(), r.output, {c.hasHead() ? c.num_classes : c.featureDim()});
    metadata(model, m);
    try {
        onnx::checker::check_model(model);
    } catch (const std::exception& e) {
        throw Error(path + ": the ONNX graph fails ONNX's checker: " + std::string(e.what()).substr(0, 300));
    }
    if (r.weight_bytes > o.external_above) r.external_data = externalise(model, path);
    std::string bytes;
    if (!model.SerializeToString(&bytes)) throw Error(path + ": the ONNX model cannot be serialised");
    fs::atomicWriteBytes(path, bytes.data(), bytes.size());
    return r;
}
#endif

}  // namespace dilute::io
