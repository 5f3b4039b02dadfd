#!/usr/bin/env python3
"""Golden attention quantities for `dilute inspect` (SPEC section 7, issue 30), computed
independently of Dilute with Debian's python3-torch: the models of make_vit_golden.py (loaded from
the files it wrote), their softmax attention recorded by a forward of RefViT's own, then the
class-token maps, attention rollout (Abnar & Zuidema 2020) and mean attention distance
(Dosovitskiy et al. 2021) written as plain loops over the definitions. One case removes the
attention of block 1 (x -> 2x, SPEC section 5) to check that a removed block is the identity in
rollout and has no distance. Run from the repository root (after make_vit_golden.py):
    /usr/bin/python3 tests/reference/make_inspect_golden.py   # writes tests/data/golden/inspect.safetensors
"""
import json, math, os, struct, sys
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from make_vit_golden import OUT, RefViT, write_safetensors  # noqa: E402


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n]); base = 8 + n
    return {k: torch.from_numpy(np.frombuffer(raw[base + v["data_offsets"][0]:base + v["data_offsets"][1]],
                                              dtype=np.float32).reshape(v["shape"]).copy())
            for k, v in hdr.items() if k != "__metadata__"}


def forward_recording(m, x, removed=()):
    """RefViT.forward, each block's attention probabilities recorded (None for a removed block)."""
    t = m.patch_embed(x); B = t.shape[0]
    cat = [p.expand(B, -1, -1) for p in (m.cls_token, getattr(m, "dist_token", None), m.reg_token) if p is not None]
    t = torch.cat(cat + [t + m.pos_embed], 1) if m.o["no_embed_class"] else torch.cat(cat + [t], 1) + m.pos_embed
    t = m.norm_pre(t); probs = []
    for i, b in enumerate(m.blocks):
        if i in removed:
            probs.append(None); t = 2 * t
        else:
            a = b.attn; y = b.norm1(t); N, C = y.shape[1], y.shape[2]
            q, k, v = a.qkv(y).reshape(B, N, 3, a.h, C // a.h).permute(2, 0, 3, 1, 4).unbind(0)
            q, k = a.q_norm(q), a.k_norm(k)
            p = ((q * (C // a.h) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
            probs.append(p)
            t = t + b.ls1(a.proj((p @ v).transpose(1, 2).reshape(B, N, C)))
        t = t + b.ls2(b.mlp(b.norm2(t)))
    return probs


def quantities(probs, prefix, cls_token, grid, patch):
    L = len(probs); some = next(p for p in probs if p is not None)
    B, H, T, _ = some.shape; P = grid * grid
    cls = torch.full((B, L, H, P), float("nan"))
    dist = torch.full((L, H), float("nan"))
    for l, A in enumerate(probs):
        if A is None: continue
        A = A.double()
        if cls_token:
            for p in range(P): cls[:, l, :, p] = A[:, :, 0, prefix + p].float()
        for h in range(H):
            s = 0.0
            for b in range(B):
                for q in range(P):
                    for kk in range(P):
                        d = math.hypot(q // grid - kk // grid, q % grid - kk % grid) * patch
                        s += A[b, h, prefix + q, prefix + kk].item() * d
            dist[l, h] = s / (B * P)
    roll = torch.zeros(B, P)
    for b in range(B):
        R = torch.eye(T, dtype=torch.float64)
        for A in probs:
            Bl = torch.eye(T, dtype=torch.float64) if A is None else (torch.eye(T, dtype=torch.float64) + A[b].double().mean(0)) / 2
            R = Bl @ R
        if cls_token: roll[b] = R[0, prefix:].float()
        else: roll[b] = R[prefix:, prefix:].mean(0).float()
    return cls, roll, dist


def main():
    torch.manual_seed(0)
    x = read_safetensors(os.path.join(OUT, "input.safetensors"))["input"]
    out, cases = {}, {}
    def case(name, model, sd, removed=()):
        model.load_state_dict(sd); model.eval()
        with torch.no_grad(): probs = forward_recording(model, x, removed)
        cls, roll, dist = quantities(probs, model.prefix, model.o["class_token"], 4, 8)
        if model.o["class_token"]: out[name + ".cls_attention"] = cls
        out[name + ".rollout"] = roll; out[name + ".mean_distance"] = dist
        cases[name] = {"removed": list(removed), "class_token": model.o["class_token"], "prefix": model.prefix}
    load = lambda f: torch.load(os.path.join(OUT, f))
    case("plain", RefViT(), load("plain.pth"))
    case("plain_removed1", RefViT(), load("plain.pth"), removed=(1,))
    case("distilled_hub", RefViT(distilled=True), read_safetensors(os.path.join(OUT, "distilled_hub", "model.safetensors")))
    case("reg_ema", RefViT(classes=0, reg_tokens=2, no_embed_class=True, init_values=1e-5), load("reg_ema.pth")["model_ema"])
    avg = {k[len("module."):]: v for k, v in load("avg_ddp.pth")["state_dict"].items()}
    case("avg_ddp", RefViT(class_token=False, global_pool="avg", qkv_bias=False, qk_norm=True, pre_norm=True), avg)
    write_safetensors(os.path.join(OUT, "inspect.safetensors"), out, {"cases": json.dumps(cases)})


if __name__ == "__main__":
    main()
