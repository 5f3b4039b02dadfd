#pragma once
// A small builder over ONNX's own protobuf classes (libonnx: onnx/onnx_pb.h): initializers from
// tensors, nodes with attributes, unique names, and the composite pieces a ViT needs, each for
// opset 17 (LayerNormalization) or opset 13 (built from primitives). Never hand-encoded bytes.
#include <onnx/onnx_pb.h>
#include <torch/types.h>

#include <string>
#include <vector>

namespace dilute::io::onnxg {

class Graph {
public:
    Graph(onnx::GraphProto* g, int opset) : g_(g), opset_(opset) {}
    int opset() const { return opset_; }
    /// A float32 initializer holding `t` (contiguous copy), named `name` (made unique).
    std::string weight(const std::string& name, const torch::Tensor& t);
    std::string ints(const std::string& name, const std::vector<int64_t>& v);  // int64 [n]
    std::string index(const std::string& name, int64_t v);                     // int64 [] (a Gather index)
    std::string scalar(const std::string& name, float v);                      // float32 []
    /// Adds a node; returns its (first) output's name. `outputs` > 1 gives name_0, name_1, ...
    std::vector<std::string> node(const std::string& op, const std::vector<std::string>& in, const std::string& name,
                                  size_t outputs = 1);
    std::string op(const std::string& op, const std::vector<std::string>& in, const std::string& name) {
        return node(op, in, name).front();
    }
    /// Attributes of the last node added.
    void attr(const std::string& key, int64_t v);
    void attr(const std::string& key, float v);
    void attr(const std::string& key, const std::vector<int64_t>& v);

    // Composites (x: [..., D] float).
    std::string linear(const std::string& x, const torch::Tensor& w, const torch::Tensor& b, const std::string& name);
    std::string layerNorm(const std::string& x, const torch::Tensor& w, const torch::Tensor& b, double eps,
                          const std::string& name);
    std::string gelu(const std::string& x, const std::string& name);  // exact: x/2 (1 + erf(x / sqrt 2))
    std::string mulConst(const std::string& x, float v, const std::string& name);

    size_t initializerBytes() const { return bytes_; }

private:
    std::string unique(const std::string& name);
    onnx::GraphProto* g_;
    int opset_;
    size_t bytes_ = 0;
    std::vector<std::string> used_;
};

}  // namespace dilute::io::onnxg
