#!/usr/bin/env python3
"""Golden files for the model sources (issue 25), made with Debian's python3-torch and
python3-torchvision: tiny models of each family member, saved the ways researchers hold them,
an input batch and each model's logits computed by PyTorch. RefViT below follows timm's
VisionTransformer / VisionTransformerDistilled (vision_transformer.py, deit.py) line by line;
torchvision's model is torchvision's own. Run from the repository root:
    /usr/bin/python3 tests/reference/make_vit_golden.py   # writes tests/data/golden/
"""
import argparse, json, os, struct, zipfile
import torch, torch.nn as nn, torch.nn.functional as F
import torchvision

OUT = "tests/data/golden"


class Attn(nn.Module):
    def __init__(s, d, h, qkv_bias, qk_norm, eps):
        super().__init__(); s.h = h
        s.qkv = nn.Linear(d, 3 * d, bias=qkv_bias)
        s.q_norm = nn.LayerNorm(d // h, eps=eps) if qk_norm else nn.Identity()
        s.k_norm = nn.LayerNorm(d // h, eps=eps) if qk_norm else nn.Identity()
        s.proj = nn.Linear(d, d)

    def forward(s, x):
        B, N, C = x.shape
        q, k, v = s.qkv(x).reshape(B, N, 3, s.h, C // s.h).permute(2, 0, 3, 1, 4).unbind(0)
        q, k = s.q_norm(q), s.k_norm(k)
        a = ((q * (C // s.h) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        return s.proj((a @ v).transpose(1, 2).reshape(B, N, C))


class LS(nn.Module):
    def __init__(s, d, v):
        super().__init__(); s.gamma = nn.Parameter(v * torch.ones(d))

    def forward(s, x):
        return x * s.gamma


class Block(nn.Module):
    def __init__(s, d, h, r, o):
        super().__init__(); eps = o["eps"]
        s.norm1 = nn.LayerNorm(d, eps=eps); s.attn = Attn(d, h, o["qkv_bias"], o["qk_norm"], eps)
        s.ls1 = LS(d, o["init_values"]) if o["init_values"] else nn.Identity()
        s.norm2 = nn.LayerNorm(d, eps=eps)
        s.mlp = nn.Sequential()
        s.mlp.add_module("fc1", nn.Linear(d, int(d * r))); s.mlp.add_module("act", nn.GELU())
        s.mlp.add_module("fc2", nn.Linear(int(d * r), d))
        s.ls2 = LS(d, o["init_values"]) if o["init_values"] else nn.Identity()

    def forward(s, x):
        x = x + s.ls1(s.attn(s.norm1(x)))
        return x + s.ls2(s.mlp(s.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(s, c, d, p, bias):
        super().__init__(); s.proj = nn.Conv2d(c, d, p, p, bias=bias)

    def forward(s, x):
        return s.proj(x).flatten(2).transpose(1, 2)


class RefViT(nn.Module):
    def __init__(s, img=32, patch=8, chans=3, classes=5, d=32, depth=2, heads=2, ratio=2.0, **kw):
        super().__init__()
        o = dict(class_token=True, reg_tokens=0, distilled=False, no_embed_class=False, global_pool="token",
                 fc_norm=None, qkv_bias=True, qk_norm=False, pre_norm=False, init_values=0.0, eps=1e-6)
        o.update(kw); s.o = o
        fc_norm = o["global_pool"] == "avg" if o["fc_norm"] is None else o["fc_norm"]
        s.prefix = int(o["class_token"]) + int(o["distilled"]) + o["reg_tokens"]
        n = (img // patch) ** 2
        s.cls_token = nn.Parameter(torch.randn(1, 1, d) * .02) if o["class_token"] else None
        s.reg_token = nn.Parameter(torch.randn(1, o["reg_tokens"], d) * .02) if o["reg_tokens"] else None
        s.pos_embed = nn.Parameter(torch.randn(1, n if o["no_embed_class"] else n + s.prefix, d) * .02)
        s.patch_embed = PatchEmbed(chans, d, patch, not o["pre_norm"])
        s.norm_pre = nn.LayerNorm(d, eps=o["eps"]) if o["pre_norm"] else nn.Identity()
        s.blocks = nn.Sequential(*[Block(d, heads, ratio, o) for _ in range(depth)])
        s.norm = nn.LayerNorm(d, eps=o["eps"]) if not fc_norm else nn.Identity()
        s.fc_norm = nn.LayerNorm(d, eps=o["eps"]) if fc_norm else nn.Identity()
        s.head = nn.Linear(d, classes) if classes > 0 else nn.Identity()
        if o["distilled"]:
            s.dist_token = nn.Parameter(torch.randn(1, 1, d) * .02)
            s.head_dist = nn.Linear(d, classes) if classes > 0 else nn.Identity()
        with torch.no_grad():  # make every piece matter: non-trivial norms and scales
            for m in s.modules():
                if isinstance(m, nn.LayerNorm):
                    m.weight.uniform_(0.5, 1.5); m.bias.uniform_(-0.2, 0.2)
                if isinstance(m, LS):
                    m.gamma.uniform_(0.2, 1.0)

    def forward(s, x):
        x = s.patch_embed(x); B = x.shape[0]
        cat = [t.expand(B, -1, -1) for t in (s.cls_token, getattr(s, "dist_token", None), s.reg_token) if t is not None]
        if s.o["no_embed_class"]:
            x = torch.cat(cat + [x + s.pos_embed], 1)
        else:
            x = torch.cat(cat + [x], 1) + s.pos_embed
        x = s.norm(s.blocks(s.norm_pre(x)))
        if s.o["distilled"]:
            return (s.head(x[:, 0]) + s.head_dist(x[:, 1])) / 2
        f = x[:, 0] if s.o["global_pool"] == "token" else x[:, s.prefix:].mean(1)
        return s.head(s.fc_norm(f))


def resample_abs_pos_embed(posemb, new_size, num_prefix_tokens):
    """timm/layers/pos_embed.py resample_abs_pos_embed (bicubic, antialias=True), square grids."""
    hw = int((posemb.shape[1] - num_prefix_tokens) ** 0.5)
    prefix, posemb = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    d, dtype = posemb.shape[-1], posemb.dtype
    posemb = posemb.float().reshape(1, hw, hw, -1).permute(0, 3, 1, 2)
    posemb = F.interpolate(posemb, size=new_size, mode="bicubic", antialias=True)
    posemb = posemb.permute(0, 2, 3, 1).reshape(1, -1, d).to(dtype)
    return torch.cat([prefix, posemb], dim=1) if num_prefix_tokens else posemb


def at_size(model_fn, state, img, patch=8):
    """timm's create_model(..., img_size=img) + checkpoint_filter_fn: the model built at `img`,
    pos_embed resampled over its grid (no_embed_class: no prefix rows)."""
    m = model_fn(img)
    prefix = 0 if m.o["no_embed_class"] else m.prefix
    st = dict(state)
    st["pos_embed"] = resample_abs_pos_embed(st["pos_embed"], [img // patch] * 2, prefix)
    m.load_state_dict(st)
    return m.eval()


def write_safetensors(path, tensors, meta=None):
    hdr, off, blobs = {}, 0, []
    for k, t in tensors.items():
        b = t.detach().contiguous().float().numpy().tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b); blobs.append(b)
    if meta: hdr["__metadata__"] = meta
    h = json.dumps(hdr).encode(); h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs: f.write(b)


def hf_keys(sd, prefix, distilled):
    out = {}
    for k, v in sd.items():
        if k.startswith("blocks."):
            i, rest = k.split(".", 2)[1:]
            L = f"{prefix}encoder.layer.{i}."
            if rest.startswith("attn.qkv."):
                q, kk, vv = v.chunk(3, 0); kind = rest.split(".")[-1]
                for n, t in (("query", q), ("key", kk), ("value", vv)):
                    out[f"{L}attention.attention.{n}.{kind}"] = t
                continue
            m = {"norm1": "layernorm_before", "attn.proj": "attention.output.dense", "norm2": "layernorm_after",
                 "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense"}
            base, kind = rest.rsplit(".", 1); out[L + m[base] + "." + kind] = v
        else:
            m = {"cls_token": "embeddings.cls_token", "dist_token": "embeddings.distillation_token",
                 "reg_token": "embeddings.distillation_token",  # DeiTForImageClassification: never classified
                 "pos_embed": "embeddings.position_embeddings", "patch_embed.proj.weight": "embeddings.patch_embeddings.projection.weight",
                 "patch_embed.proj.bias": "embeddings.patch_embeddings.projection.bias", "norm.weight": "layernorm.weight",
                 "norm.bias": "layernorm.bias"}
            if k in m: out[prefix + m[k]] = v
            elif k.startswith("head_dist."): out["distillation_classifier." + k.split(".")[1]] = v
            elif k.startswith("head."): out[("cls_classifier." if distilled else "classifier.") + k.split(".")[1]] = v
    return out


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/dilute-golden-pwned",))


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    x = torch.randn(2, 3, 32, 32)
    logits, cases = {}, {}

    def save(name, model, fname, how, **meta):
        model.eval()
        with torch.no_grad(): logits[name] = model(x)
        cases[name] = dict(file=fname, **meta)
        how(os.path.join(OUT, fname))

    sd = lambda m: {k: v for k, v in m.state_dict().items()}
    m = RefViT()
    save("plain_zip", m, "plain.pth", lambda p: torch.save(sd(m), p), format="pytorch zip", layout="timm", heads=2)
    m = RefViT(no_embed_class=True, init_values=1e-6)
    old = {k.replace("ls1.gamma", "gamma_1").replace("ls2.gamma", "gamma_2"): v for k, v in sd(m).items()}
    ck = {"model": old, "optimizer": {"state": {0: {"step": torch.tensor(3.)}}, "param_groups": [{"lr": 1e-3}]},
          "epoch": 3, "args": argparse.Namespace(lr=1e-3, model="deit3")}
    save("deit3_legacy", m, "deit3_legacy.pth", lambda p: torch.save(ck, p, _use_new_zipfile_serialization=False),
         format="pytorch legacy", layout="timm", heads=2)
    m = RefViT(distilled=True)
    def hub(p):
        os.makedirs(p, exist_ok=True)
        write_safetensors(os.path.join(p, "model.safetensors"), sd(m))
        json.dump({"architecture": "deit_tiny_distilled_patch16_224", "num_classes": 5, "label_names": list("abcde"),
                   "model_args": {"num_heads": 2}, "pretrained_cfg": {"input_size": [3, 32, 32], "crop_pct": 1.0,
                   "interpolation": "bicubic", "mean": [0.5] * 3, "std": [0.5] * 3}}, open(os.path.join(p, "config.json"), "w"))
    save("distilled_hub", m, "distilled_hub", hub, format="timm hub folder", layout="timm")
    m = RefViT(classes=0, reg_tokens=2, no_embed_class=True, init_values=1e-5)
    save("reg_ema", m, "reg_ema.pth", lambda p: torch.save({"model_ema": sd(m), "epoch": 1}, p), format="pytorch zip", layout="timm", heads=2)
    m = RefViT(class_token=False, global_pool="avg", qkv_bias=False, qk_norm=True, pre_norm=True)
    save("avg_ddp", m, "avg_ddp.pth", lambda p: torch.save({"state_dict": {"module." + k: v for k, v in sd(m).items()}}, p),
         format="pytorch zip", layout="timm", heads=2)
    m = RefViT(eps=1e-12)
    def hfdir(p, model, distilled, deit=False):
        os.makedirs(p, exist_ok=True)
        deit = deit or distilled
        torch.save(hf_keys(sd(model), "deit." if deit else "vit.", distilled), os.path.join(p, "pytorch_model.bin"))
        json.dump({"model_type": "deit" if deit else "vit", "hidden_size": 32, "num_hidden_layers": 2,
                   "num_attention_heads": 2, "intermediate_size": 64, "image_size": 32, "patch_size": 8,
                   "num_channels": 3, "layer_norm_eps": 1e-12, "qkv_bias": True,
                   "id2label": {str(i): f"class{i}" for i in range(5)}}, open(os.path.join(p, "config.json"), "w"))
    save("hf_vit", m, "hf_vit", lambda p: hfdir(p, m, False), format="Hugging Face folder", layout="hf-vit")
    md = RefViT(eps=1e-12, distilled=True)
    save("hf_deit", md, "hf_deit", lambda p: hfdir(p, md, True), format="Hugging Face folder", layout="hf-deit")
    # DeiTForImageClassification: the distillation token is there but only the class token is
    # classified (transformers' modeling_deit.py), i.e. a ViT whose second token is a register.
    mp = RefViT(eps=1e-12, reg_tokens=1)
    save("hf_deit_plain", mp, "hf_deit_plain", lambda p: hfdir(p, mp, False, deit=True), format="Hugging Face folder",
         layout="hf-deit")
    # The DINOv2 repository's layout (mask_token, register_tokens, the class row in pos_embed),
    # converted as timm's _convert_dinov2: reg_token, cls_token + pos_embed[:, 0], pos_embed[:, 1:].
    mr = RefViT(classes=0, reg_tokens=2, no_embed_class=True, init_values=1e-5)
    def dinov2(p):
        st = sd(mr); pos0 = torch.randn(1, 1, 32) * .02
        orig = {k: v for k, v in st.items() if k not in ("cls_token", "reg_token", "pos_embed")}
        orig.update(mask_token=torch.zeros(1, 32), register_tokens=st["reg_token"], cls_token=st["cls_token"] - pos0,
                    pos_embed=torch.cat([pos0, st["pos_embed"]], 1))
        torch.save(orig, p)
    save("dinov2_reg", mr, "dinov2_reg.pth", dinov2, format="pytorch zip", layout="dinov2", heads=2)
    tv = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
                                              mlp_dim=64, num_classes=5)
    with torch.no_grad():  # torchvision zero-initialises its head: give it weights that matter
        tv.heads.head.weight.normal_(0, 0.5); tv.heads.head.bias.normal_(0, 0.1)
    save("torchvision", tv, "torchvision.pth", lambda p: torch.save(tv.state_dict(), p), format="pytorch zip",
         layout="torchvision", heads=2)
    # Another resolution (--img-size): the whole chain against timm's, and the resampling alone.
    x48, x16 = torch.randn(2, 3, 48, 48), torch.randn(2, 3, 16, 16)
    plain = torch.load(os.path.join(OUT, "plain.pth"))
    with torch.no_grad():
        logits["plain_48"] = at_size(lambda i: RefViT(img=i), plain, 48)(x48)
        d3 = {k.replace("gamma_1", "ls1.gamma").replace("gamma_2", "ls2.gamma"): v
              for k, v in torch.load(os.path.join(OUT, "deit3_legacy.pth"))["model"].items()}
        logits["deit3_legacy_16"] = at_size(lambda i: RefViT(img=i, no_embed_class=True, init_values=1e-6), d3, 16)(x16)
    pos = {"cls_17": torch.randn(1, 17, 32), "reg_19": torch.randn(1, 19, 32), "none_49": torch.randn(1, 49, 32)}
    pos["cls_17_to_2"] = resample_abs_pos_embed(pos["cls_17"], [2, 2], 1)
    pos["cls_17_to_6"] = resample_abs_pos_embed(pos["cls_17"], [6, 6], 1)
    pos["reg_19_to_5"] = resample_abs_pos_embed(pos["reg_19"], [5, 5], 3)
    pos["none_49_to_3"] = resample_abs_pos_embed(pos["none_49"], [3, 3], 0)
    pos["none_49_to_16"] = resample_abs_pos_embed(pos["none_49"], [16, 16], 0)
    write_safetensors(os.path.join(OUT, "resample.safetensors"), pos)
    write_safetensors(os.path.join(OUT, "input.safetensors"), {"input": x, "input48": x48, "input16": x16})
    write_safetensors(os.path.join(OUT, "logits.safetensors"), logits)
    json.dump(cases, open(os.path.join(OUT, "cases.json"), "w"), indent=1, sort_keys=True)
    # Hostile files: a pickle that would run a command, a truncated archive, a checkpoint without weights.
    torch.save({"model": Evil()}, os.path.join(OUT, "evil.pth"))
    raw = open(os.path.join(OUT, "plain.pth"), "rb").read()
    open(os.path.join(OUT, "truncated.pth"), "wb").write(raw[: len(raw) // 2])
    torch.save({"epoch": 3, "args": argparse.Namespace(lr=1.0)}, os.path.join(OUT, "noweights.pth"))


if __name__ == "__main__":
    main()
