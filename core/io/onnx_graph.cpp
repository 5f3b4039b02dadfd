#include "io/onnx_graph.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dilute::io::onnxg {

std::string Graph::unique(const std::string& name) {
    std::string n = name;
    for (int i = 1; std::find(used_.begin(), used_.end(), n) != used_.end(); ++i) n = name + "_" + std::to_string(i);
    used_.push_back(n);
    return n;
}

std::string Graph::weight(const std::string& name, const torch::Tensor& t) {
    const auto c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
    auto* init = g_->add_initializer();
    init->set_name(unique(name));
    init->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : c.sizes()) init->add_dims(d);
    init->set_raw_data(std::string(reinterpret_cast<const char*>(c.data_ptr<float>()), size_t(c.numel()) * 4));
    bytes_ += size_t(c.numel()) * 4;
    return init->name();
}

std::string Graph::ints(const std::string& name, const std::vector<int64_t>& v) {
    auto* init = g_->add_initializer();
    init->set_name(unique(name));
    init->set_data_type(onnx::TensorProto::INT64);
    init->add_dims(int64_t(v.size()));
    for (int64_t x : v) init->add_int64_data(x);
    return init->name();
}

std::string Graph::index(const std::string& name, int64_t v) {
    auto* init = g_->add_initializer();
    init->set_name(unique(name));
    init->set_data_type(onnx::TensorProto::INT64);
    init->add_int64_data(v);
    return init->name();
}

std::string Graph::scalar(const std::string& name, float v) {
    auto* init = g_->add_initializer();
    init->set_name(unique(name));
    init->set_data_type(onnx::TensorProto::FLOAT);
    init->add_float_data(v);
    return init->name();
}

std::vector<std::string> Graph::node(const std::string& op, const std::vector<std::string>& in, const std::string& name,
                                     size_t outputs) {
    auto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(unique(name));
    for (const auto& i : in) n->add_input(i);
    std::vector<std::string> out;
    for (size_t k = 0; k < outputs; ++k) {
        out.push_back(outputs == 1 ? n->name() : n->name() + "_" + std::to_string(k));
        n->add_output(out.back());
    }
    return out;
}

void Graph::attr(const std::string& key, int64_t v) {
    auto* a = g_->mutable_node(g_->node_size() - 1)->add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
}

void Graph::attr(const std::string& key, float v) {
    auto* a = g_->mutable_node(g_->node_size() - 1)->add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
}

void Graph::attr(const std::string& key, const std::vector<int64_t>& v) {
    auto* a = g_->mutable_node(g_->node_size() - 1)->add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
}

std::string Graph::linear(const std::string& x, const torch::Tensor& w, const torch::Tensor& b,
                          const std::string& name) {
    auto y = op("MatMul", {x, weight(name + ".weight_t", w.t())}, name + ".matmul");
    return b.defined() ? op("Add", {y, weight(name + ".bias", b)}, name) : y;
}

std::string Graph::layerNorm(const std::string& x, const torch::Tensor& w, const torch::Tensor& b, double eps,
                             const std::string& name) {
    if (opset_ >= 17) {
        auto y = op("LayerNormalization", {x, weight(name + ".weight", w), weight(name + ".bias", b)}, name);
        attr("axis", int64_t(-1));
        attr("epsilon", float(eps));
        return y;
    }
    // Opset 13: (x - mean) / sqrt(var + eps) * w + b, the variance biased as LayerNorm's.
    auto mean = op("ReduceMean", {x}, name + ".mean");
    attr("axes", std::vector<int64_t>{-1});
    auto centred = op("Sub", {x, mean}, name + ".centred");
    auto sq = op("Mul", {centred, centred}, name + ".sq");
    auto var = op("ReduceMean", {sq}, name + ".var");
    attr("axes", std::vector<int64_t>{-1});
    auto sd = op("Sqrt", {op("Add", {var, scalar(name + ".eps", float(eps))}, name + ".var_eps")}, name + ".sd");
    auto normed = op("Div", {centred, sd}, name + ".normed");
    return op("Add", {op("Mul", {normed, weight(name + ".weight", w)}, name + ".scaled"), weight(name + ".bias", b)},
              name);
}

std::string Graph::gelu(const std::string& x, const std::string& name) {
    auto e = op("Erf", {op("Mul", {x, scalar(name + ".inv_sqrt2", float(1.0 / std::sqrt(2.0)))}, name + ".x_s")},
                name + ".erf");
    auto one = op("Add", {e, scalar(name + ".one", 1.0f)}, name + ".1p");
    return op("Mul", {op("Mul", {x, scalar(name + ".half", 0.5f)}, name + ".half_x"), one}, name);
}

std::string Graph::mulConst(const std::string& x, float v, const std::string& name) {
    return op("Mul", {x, scalar(name + ".c", v)}, name);
}

}  // namespace dilute::io::onnxg
