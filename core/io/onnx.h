#pragma once
// ONNX export (issue 31): any model Dilute loads (full, diluted at some lambda, pruned, folded or
// not, every family member) as an ONNX graph written with ONNX's own protobuf classes and checked
// with ONNX's checker. Opset 17 uses LayerNormalization; opset 13 builds it from primitives. GELU
// as Erf, attention as MatMul / Softmax, removed blocks absent (a x2 residual, or nothing when
// folded), a dynamic batch dimension, the preprocessing and class names in metadata_props.
#include <cstdint>
#include <string>

#include "model/vit.h"

namespace dilute::io {

struct OnnxOptions {
    int opset = 17;  // 17 or 13
    /// Weights above this many bytes go to an external data file beside the model (`FILE.data`),
    /// as protobuf cannot hold a message over 2 GB.
    uint64_t external_above = (uint64_t(2) << 30) - (uint64_t(64) << 20);
};

struct OnnxReport {
    int opset = 0;
    int nodes = 0;
    uint64_t weight_bytes = 0;
    std::string input, output;  // "input" [batch, C, S, S]; "logits" [batch, classes] or "features"
    std::string external_data;  // the external data file, when used
};

/// True when this build writes ONNX (libonnx found at configure time).
bool onnxAvailable();
/// Writes `m` as it is to `path` (and `path`.data when external) atomically; throws
/// dilute::Error naming the file when the graph fails ONNX's checker or cannot be written.
OnnxReport saveOnnx(model::VisionTransformerImpl& m, const std::string& path, const OnnxOptions& o = {});

}  // namespace dilute::io
