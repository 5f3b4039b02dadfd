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

namespace {

// def attn(...): the block's attention, its signature as the family member needs (no qkv bias:
// none passed; qk_norm: the two per-head LayerNorms).
std::string attnSource(const model::ViTConfig& c) {
    const std::string H = std::to_string(c.num_heads), hd = std::to_string(c.headDim()), eps = num(c.norm_eps);
    std::ostringstream s;
    s << "def attn(self, x: Tensor, w_qkv: Tensor" << (c.qkv_bias ? ", b_qkv: Tensor" : "")
      << ", w_proj: Tensor, b_proj: Tensor" << (c.qk_norm ? ", qw: Tensor, qb: Tensor, kw: Tensor, kb: Tensor" : "")
      << ") -> Tensor:\n"
      << "    B = x.size(0)\n    N = x.size(1)\n    C = x.size(2)\n"
      << "    qkv = torch.linear(x, w_qkv, " << (c.qkv_bias ? "b_qkv" : "None") << ").reshape(B, N, 3, " << H
      << ", C // " << H << ").permute(2, 0, 3, 1, 4)\n"
      << "    q = qkv[0]\n    k = qkv[1]\n    v = qkv[2]\n";
    if (c.qk_norm)
        s << "    q = torch.layer_norm(q, [" << hd << "], qw, qb, " << eps << ")\n"
          << "    k = torch.layer_norm(k, [" << hd << "], kw, kb, " << eps << ")\n";
    s << "    a = torch.softmax(torch.matmul(q * " << num(1.0 / std::sqrt(double(c.headDim())))
      << ", k.transpose(-2, -1)), -1)\n"
      << "    o = torch.matmul(a, v).transpose(1, 2).reshape(B, N, C)\n"
      << "    return torch.linear(o, w_proj, b_proj)\n\n"
      << "def mlp(self, x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) -> Tensor:\n"
      << "    return torch.linear(torch.gelu(torch.linear(x, w1, b1)), w2, b2)\n\n";
    return s.str();
}

// Patches, prefix tokens (class, distillation, registers: timm's order), position embedding
// (added to the patches alone with no_embed_class), norm_pre.
std::string embedSource(const model::ViTConfig& c) {
    const std::string P = std::to_string(c.patch_size);
    std::ostringstream s;
    s << "def forward(self, img: Tensor) -> Tensor:\n"
      << "    x = torch.conv2d(img, self.patch_embed_proj_weight, "
      << (c.pre_norm ? "None" : "self.patch_embed_proj_bias") << ", [" << P << ", " << P << "])\n"
      << "    x = x.flatten(2).transpose(1, 2)\n";
    std::string prefix;
    if (c.class_token) prefix += "self.cls_token.expand(x.size(0), -1, -1), ";
    if (c.distilled) prefix += "self.dist_token.expand(x.size(0), -1, -1), ";
    if (c.reg_tokens) prefix += "self.reg_token.expand(x.size(0), -1, -1), ";
    if (c.no_embed_class)
        s << "    x = " << (prefix.empty() ? "x + self.pos_embed" : "torch.cat([" + prefix + "x + self.pos_embed], 1)")
          << "\n";
    else
        s << "    x = " << (prefix.empty() ? "x" : "torch.cat([" + prefix + "x], 1)") << " + self.pos_embed\n";
    if (c.pre_norm)
        s << "    x = torch.layer_norm(x, [" << c.embed_dim << "], self.norm_pre_weight, self.norm_pre_bias, "
          << num(c.norm_eps) << ")\n";
    return s.str();
}

std::string blockSource(model::BlockImpl& b, int i, const model::ViTConfig& c) {
    const std::string p = "self.blocks_" + std::to_string(i) + "_", D = std::to_string(c.embed_dim),
                      eps = num(c.norm_eps);
    const auto ln = [&](const std::string& n) {
        return "torch.layer_norm(x, [" + D + "], " + p + n + "_weight, " + p + n + "_bias, " + eps + ")";
    };
    const auto ls = [&](const std::string& n) { return c.layerScale() ? " * " + p + n + "_gamma" : std::string(); };
    std::ostringstream s;
    if (b.mode() == model::BlockMode::Removed) {
        if (b.residualScale() != 1.0) s << "    x = x * " << num(b.residualScale()) << "\n";
    } else {
        if (b.mode() == model::BlockMode::Diluted)
            throw Error("TorchScript export needs every block full or removed (block " + std::to_string(i) +
                        " is diluted with lambda " + std::to_string(b.lambda()) + ")");
        s << "    x = x + self.attn(" << ln("norm1") << ", " << p << "attn_qkv_weight, "
          << (c.qkv_bias ? p + "attn_qkv_bias, " : "") << p << "attn_proj_weight, " << p << "attn_proj_bias"
          << (c.qk_norm ? ", " + p + "attn_q_norm_weight, " + p + "attn_q_norm_bias, " + p + "attn_k_norm_weight, " +
                              p + "attn_k_norm_bias"
                        : "")
          << ")" << ls("ls1") << "\n";
    }
    s << "    x = x + self.mlp(" << ln("norm2") << ", " << p << "mlp_fc1_weight, " << p << "mlp_fc1_bias, " << p
      << "mlp_fc2_weight, " << p << "mlp_fc2_bias)" << ls("ls2") << "\n";
    return s.str();
}

// The final norm and pooling (class token, or the mean of the patch tokens), fc_norm, the head
// (distilled: the mean of head(cls) and head_dist(dist)); without a head, the feature itself.
std::string headSource(const model::ViTConfig& c) {
    const std::string D = std::to_string(c.embed_dim), eps = num(c.norm_eps);
    const auto ln = [&](const std::string& t, const std::string& n) {
        return "torch.layer_norm(" + t + ", [" + D + "], self." + n + "_weight, self." + n + "_bias, " + eps + ")";
    };
    std::ostringstream s;
    if (c.distilled) {
        s << "    f = " << ln("x[:, 0:2]", "norm") << "\n";
        if (!c.hasHead()) return s.str() + "    return f.flatten(1)\n";
        return s.str() +
               "    return (torch.linear(f[:, 0], self.head_weight, self.head_bias) + "
               "torch.linear(f[:, 1], self.head_dist_weight, self.head_dist_bias)) / 2\n";
    }
    if (c.global_pool == "token")
        s << "    f = " << (c.fc_norm ? "x[:, 0]" : ln("x[:, 0]", "norm")) << "\n";
    else
        s << "    f = "
          << (c.fc_norm ? "x[:, " + std::to_string(c.numPrefix()) + ":]"
                        : ln("x[:, " + std::to_string(c.numPrefix()) + ":]", "norm"))
          << ".mean(1)\n";
    if (c.fc_norm) s << "    f = " << ln("f", "fc_norm") << "\n";
    s << "    return " << (c.hasHead() ? "torch.linear(f, self.head_weight, self.head_bias)" : "f") << "\n";
    return s.str();
}

}  // namespace

void saveTorchScript(model::VisionTransformerImpl& m, const std::string& path) {
    const auto& c = m.config();
    torch::jit::Module mod("DilutePrunedViT");
    for (const auto& it : m.named_parameters())
        mod.register_parameter(attrName(it.key()), it.value().detach().cpu().clone(), false);
    mod.register_attribute("num_classes", c10::IntType::get(), c10::IValue(int64_t(c.num_classes)));
    mod.register_attribute("img_size", c10::IntType::get(), c10::IValue(int64_t(c.img_size)));
    std::string src = attnSource(c) + embedSource(c);
    for (int i = 0; i < m.depth(); ++i) src += blockSource(*m.block(i), i, c);
    src += headSource(c);
    try {
        mod.define(src);
    } catch (const c10::Error& e) {
        throw Error(std::string("TorchScript generation failed: ") + e.what_without_backtrace());
    }
    fs::atomicWrite(path, [&](const std::string& tmp) { mod.save(tmp); });
}

}  // namespace dilute::io
