// A TorchScript module generated from C++: parameters plus forward() source, no Dilute code.
#include <torch/script.h>
#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "io/export.h"
#include "io/keys.h"
#include "util/error.h"
#include "util/files.h"

namespace dilute::io {
namespace {

std::string attrName(const std::string& key) {
    std::string s = key;
    for (auto& c : s)
        if (c == '.') c = '_';
    return s;
}

std::string num(double v) {
    std::ostringstream ss;
    ss.precision(17);
    ss << v;
    std::string s = ss.str();
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return s;
}

}  // namespace

void saveTorchScript(model::VisionTransformerImpl& m, const std::string& path) {
    const auto& c = m.config();
    if (!c.plain())
        throw Error(path + ": the TorchScript export writes the plain ViT/DeiT model only; this one has " + c.familyFlags() +
                    " (the safetensors export keeps every family member)");
    torch::jit::Module mod("DilutePrunedViT");
    for (const auto& it : m.named_parameters()) mod.register_parameter(attrName(it.key()), it.value().detach().cpu().clone(), false);
    mod.register_attribute("num_classes", c10::IntType::get(), c10::IValue(int64_t(c.num_classes)));
    mod.register_attribute("img_size", c10::IntType::get(), c10::IValue(int64_t(c.img_size)));
    std::ostringstream src;
    const std::string P = std::to_string(c.patch_size), D = std::to_string(c.embed_dim);
    const double scale = 1.0 / std::sqrt(double(c.headDim()));
    const std::string eps = num(c.norm_eps);
    src << "def attn(self, x: Tensor, w_qkv: Tensor, b_qkv: Tensor, w_proj: Tensor, b_proj: Tensor) -> Tensor:\n"
        << "    B = x.size(0)\n    N = x.size(1)\n    C = x.size(2)\n"
        << "    qkv = torch.linear(x, w_qkv, b_qkv).reshape(B, N, 3, " << c.num_heads << ", C // " << c.num_heads
        << ").permute(2, 0, 3, 1, 4)\n"
        << "    q = qkv[0]\n    k = qkv[1]\n    v = qkv[2]\n"
        << "    a = torch.softmax(torch.matmul(q * " << num(scale) << ", k.transpose(-2, -1)), -1)\n"
        << "    o = torch.matmul(a, v).transpose(1, 2).reshape(B, N, C)\n"
        << "    return torch.linear(o, w_proj, b_proj)\n\n"
        << "def mlp(self, x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) -> Tensor:\n"
        << "    return torch.linear(torch.gelu(torch.linear(x, w1, b1)), w2, b2)\n\n"
        << "def forward(self, img: Tensor) -> Tensor:\n"
        << "    x = torch.conv2d(img, self.patch_embed_proj_weight, self.patch_embed_proj_bias, [" << P << ", " << P
        << "])\n"
        << "    x = x.flatten(2).transpose(1, 2)\n"
        << "    x = torch.cat([self.cls_token.expand(x.size(0), -1, -1), x], 1) + self.pos_embed\n";
    for (int i = 0; i < m.depth(); ++i) {
        auto b = m.block(i);
        const std::string p = "self.blocks_" + std::to_string(i) + "_";
        if (b->mode() == model::BlockMode::Removed) {
            if (b->residualScale() != 1.0) src << "    x = x * " << num(b->residualScale()) << "\n";
        } else {
            if (b->mode() == model::BlockMode::Diluted)
                throw Error("TorchScript export needs every block full or removed (block " + std::to_string(i) +
                            " is diluted with lambda " + std::to_string(b->lambda()) + ")");
            src << "    x = x + self.attn(torch.layer_norm(x, [" << D << "], " << p << "norm1_weight, " << p
                << "norm1_bias, " << eps << "), " << p << "attn_qkv_weight, " << p << "attn_qkv_bias, " << p
                << "attn_proj_weight, " << p << "attn_proj_bias)\n";
        }
        src << "    x = x + self.mlp(torch.layer_norm(x, [" << D << "], " << p << "norm2_weight, " << p
            << "norm2_bias, " << eps << "), " << p << "mlp_fc1_weight, " << p << "mlp_fc1_bias, " << p << "mlp_fc2_weight, "
            << p << "mlp_fc2_bias)\n";
    }
    src << "    cls = torch.layer_norm(x[:, 0], [" << D << "], self.norm_weight, self.norm_bias, " << eps << ")\n"
        << "    return torch.linear(cls, self.head_weight, self.head_bias)\n";
    try {
        mod.define(src.str());
    } catch (const c10::Error& e) {
        throw Error(std::string("TorchScript generation failed: ") + e.what_without_backtrace());
    }
    fs::atomicWrite(path, [&](const std::string& tmp) { mod.save(tmp); });
}

}  // namespace dilute::io
