#include "io/inputtensor.h"

#include <torch/torch.h>

#include "io/safetensors.h"
#include "util/error.h"

namespace dilute::io {

std::string shapeText(const torch::Tensor& t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "," : "") + std::to_string(t.size(i));
    return s + "]";
}

torch::Tensor readInputTensor(const std::string& in, const model::ViTConfig& c, bool allowNonFinite,
                              const std::function<void(const std::string&)>& warn) {
    const auto f = readSafetensors(in);
    const torch::Tensor* x = f.find("input");
    if (!x && f.tensors.size() == 1) x = &f.tensors.front().second;
    if (!x) throw Error(in + ": no tensor named 'input' (and more than one tensor)");
    if (!x->is_floating_point())
        throw Error(in + ": tensor 'input' holds " + std::string(c10::toString(x->scalar_type())) +
                    " values; expected floating point (F32, F16, BF16 or F64), already preprocessed");
    if (x->dim() != 4 || x->size(0) < 1 || x->size(1) != c.in_chans || x->size(2) != c.img_size ||
        x->size(3) != c.img_size)
        throw Error(in + ": input tensor has shape " + shapeText(*x) + "; the model takes [B," +
                    std::to_string(c.in_chans) + "," + std::to_string(c.img_size) + "," + std::to_string(c.img_size) +
                    "]");
    if (const auto bad = (~torch::isfinite(*x)).sum().item<int64_t>(); bad > 0) {
        const std::string what = in + ": tensor 'input' holds " + std::to_string(bad) + " NaN or infinite values";
        if (!allowNonFinite) throw Error(what + "; refusing (--allow-nonfinite runs it anyway)");
        if (warn) warn(what);
    }
    return x->to(torch::kFloat).contiguous();
}

}  // namespace dilute::io
