"""Loads a Vision Transformer exported by Dilute (`dilute export ... --timm DIR`) in PyTorch.

    import dilute_vit
    model = dilute_vit.load("DIR")          # eval mode; model(x) gives the logits

DIR holds config.json (timm's hub format: architecture, model_args, pretrained_cfg, and a
"dilute" section) and model.safetensors (timm's key names). Blocks listed under
dilute.removed_blocks have no attention: x -> s * x, then the MLP (s = 2, or 1 when the export
folded the doubling into the later output layers). Blocks under dilute.lambdas (a model exported
during dilution) compute x -> (2 - lambda) x + lambda attn(x). With timm installed the model is timm's own
VisionTransformer (or VisionTransformerDistilled) with those blocks' attention taken out; without
it, a self-contained copy of the same computation that needs only torch. Written by Dilute; it
runs nothing from the folder but reads its two files.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

try:  # timm is optional: used when present
    import timm  # noqa: F401
except ImportError:
    timm = None

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def read_safetensors(path):
    """The tensors of a safetensors file (torch only; the safetensors package is not needed)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=DTYPES[v["dtype"]]) if b > a else torch.empty(0)
        out[k] = t.reshape(v["shape"]).float()
    return out


def _removed_forward(block, scale):
    """A timm Block whose attention is gone: x -> scale * x, then the MLP residual."""
    def forward(x, *args, **kwargs):
        x = x * scale
        return x + block.drop_path2(block.ls2(block.mlp(block.norm2(x))))
    return forward


def _diluted_forward(block, lam):
    """A timm Block during dilution: x -> (2 - lambda) x + lambda attn(x), then the MLP residual."""
    def forward(x, *args, **kwargs):
        x = (2.0 - lam) * x + lam * block.drop_path1(block.ls1(block.attn(block.norm1(x))))
        return x + block.drop_path2(block.ls2(block.mlp(block.norm2(x))))
    return forward


def _timm_model(cfg, removed, scale):
    d = cfg.get("dilute", {})
    args = dict(cfg["model_args"])
    model = timm.create_model(cfg["architecture"], pretrained=False, **args)
    eps = d.get("norm_eps", 1e-6)
    for m in model.modules():
        if isinstance(m, nn.LayerNorm):
            m.eps = eps
    for i in removed:
        blk = model.blocks[i]
        del blk.norm1, blk.attn, blk.ls1
        blk.forward = _removed_forward(blk, scale)
    for i, lam in d.get("lambdas", {}).items():
        model.blocks[int(i)].forward = _diluted_forward(model.blocks[int(i)], float(lam))
    return model


class _Attention(nn.Module):
    def __init__(self, dim, heads, qkv_bias, qk_norm, eps):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.q_norm = nn.LayerNorm(dim // heads, eps=eps) if qk_norm else nn.Identity()
        self.k_norm = nn.LayerNorm(dim // heads, eps=eps) if qk_norm else nn.Identity()
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        a = torch.matmul(q * (C // self.heads) ** -0.5, k.transpose(-2, -1)).softmax(-1)
        return self.proj(torch.matmul(a, v).transpose(1, 2).reshape(B, N, C))


class _LayerScale(nn.Module):
    def __init__(self, dim, value):
        super().__init__()
        self.gamma = nn.Parameter(value * torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class _Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class _Block(nn.Module):
    def __init__(self, a, eps, removed, scale, lam=1.0):
        super().__init__()
        dim, ls = a["embed_dim"], a.get("init_values") or 0.0
        self.removed, self.scale, self.lam = removed, scale, lam
        if not removed:
            self.norm1 = nn.LayerNorm(dim, eps=eps)
            self.attn = _Attention(dim, a["num_heads"], a.get("qkv_bias", True), a.get("qk_norm", False), eps)
            self.ls1 = _LayerScale(dim, ls) if ls else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = _Mlp(dim, int(dim * a.get("mlp_ratio", 4.0)))
        self.ls2 = _LayerScale(dim, ls) if ls else nn.Identity()

    def forward(self, x):
        if self.removed:
            x = x * self.scale
        elif self.lam == 1.0:
            x = x + self.ls1(self.attn(self.norm1(x)))
        else:
            x = (2.0 - self.lam) * x + self.lam * self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class _PatchEmbed(nn.Module):
    def __init__(self, chans, dim, patch, bias):
        super().__init__()
        self.proj = nn.Conv2d(chans, dim, patch, patch, bias=bias)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class DiluteViT(nn.Module):
    """timm's VisionTransformer (and VisionTransformerDistilled) forward, with the same key names."""

    def __init__(self, cfg):
        super().__init__()
        a, d = cfg["model_args"], cfg.get("dilute", {})
        eps, dim = d.get("norm_eps", 1e-6), a["embed_dim"]
        self.distilled = d.get("distilled", False)
        self.class_token = a.get("class_token", True)
        self.no_embed_class = a.get("no_embed_class", False)
        self.global_pool = a.get("global_pool", "token")
        self.prefix = int(self.class_token) + int(self.distilled) + a.get("reg_tokens", 0)
        grid = a["img_size"] // a["patch_size"]
        pre_norm = a.get("pre_norm", False)
        self.patch_embed = _PatchEmbed(a.get("in_chans", 3), dim, a["patch_size"], not pre_norm)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim)) if self.class_token else None
        self.dist_token = nn.Parameter(torch.zeros(1, 1, dim)) if self.distilled else None
        self.reg_token = nn.Parameter(torch.zeros(1, a["reg_tokens"], dim)) if a.get("reg_tokens", 0) else None
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + (0 if self.no_embed_class else self.prefix), dim))
        self.norm_pre = nn.LayerNorm(dim, eps=eps) if pre_norm else nn.Identity()
        removed, scale = set(d.get("removed_blocks", [])), 1.0 if d.get("folded", False) else 2.0
        lams = {int(i): float(v) for i, v in d.get("lambdas", {}).items()}
        self.blocks = nn.Sequential(*[_Block(a, eps, i in removed, scale, lams.get(i, 1.0)) for i in range(a["depth"])])
        fc_norm = a.get("fc_norm")
        fc_norm = self.global_pool == "avg" if fc_norm is None else fc_norm
        self.norm = nn.LayerNorm(dim, eps=eps) if not fc_norm else nn.Identity()
        self.fc_norm = nn.LayerNorm(dim, eps=eps) if fc_norm else nn.Identity()
        classes = a.get("num_classes", 1000)
        self.head = nn.Linear(dim, classes) if classes > 0 else nn.Identity()
        if self.distilled:
            self.head_dist = nn.Linear(dim, classes) if classes > 0 else nn.Identity()

    def forward(self, x):
        x = self.patch_embed(x)
        B = x.shape[0]
        cat = [t.expand(B, -1, -1) for t in (self.cls_token, self.dist_token, self.reg_token) if t is not None]
        if self.no_embed_class:
            x = torch.cat(cat + [x + self.pos_embed], 1)
        else:
            x = torch.cat(cat + [x], 1) + self.pos_embed
        x = self.norm(self.blocks(self.norm_pre(x)))
        if self.distilled:
            return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2
        f = x[:, 0] if self.global_pool == "token" else x[:, self.prefix:].mean(1)
        return self.head(self.fc_norm(f))


def load(folder, use_timm=None):
    """The model of an export folder, in eval mode. use_timm: None = when installed."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    d = cfg.get("dilute", {})
    removed, scale = d.get("removed_blocks", []), 1.0 if d.get("folded", False) else 2.0
    if use_timm is None:
        use_timm = timm is not None
    model = _timm_model(cfg, removed, scale) if use_timm else DiluteViT(cfg)
    model.load_state_dict(read_safetensors(os.path.join(folder, "model.safetensors")), strict=True)
    return model.eval()


def preprocessing(folder):
    """timm's pretrained_cfg of the folder: input_size, mean, std, interpolation, crop_pct."""
    with open(os.path.join(folder, "config.json")) as f:
        return json.load(f)["pretrained_cfg"]


if __name__ == "__main__":
    import sys
    m = load(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
    cfg = preprocessing(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
    x = torch.zeros(1, *cfg["input_size"])
    print(type(m).__name__, tuple(m(x).shape), math.fsum(p.numel() for p in m.parameters()))
