#!/usr/bin/env python3
"""Dilute against timm on the GPU machine (packaging/gpu-check.sh runs it; needs torch, timm,
safetensors). Prints one JSON object and writes it to OUT/timm.json:
  1. logits: timm's deit_small_patch16_224 (random init, seeded) saved with safetensors; one fixed
     input batch through timm and through `dilute eval --input-tensor` (fp32, TF32 off, on CPU and
     on CUDA): max |difference| / max |logit| (target <= 1e-4);
  2. TorchScript: a pruned export (RUN/export/pruned.pt, when given) loaded by this torch, its
     logits against Dilute's own on the same batch;
  3. speed, side by side in one process run: timm training steps (bf16 autocast, AdamW) and
     forward img/s for DeiT-S and DeiT-B, against `dilute bench` / `dilute train` figures that
     gpu-check.sh measured and passes in (--dilute-json).
Usage: compare_timm.py DILUTE_BIN OUT [--pruned RUN/export] [--dilute-json FILE]
"""
import argparse
import json
import os
import subprocess
import time

import safetensors.torch
import timm
import torch

p = argparse.ArgumentParser()
p.add_argument("dilute")
p.add_argument("out")
p.add_argument("--pruned", default="")
p.add_argument("--dilute-json", default="")
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
result = {"torch": torch.__version__, "cuda": torch.version.cuda, "timm": timm.__version__}


def dilute_logits(weights, x, device, arch=None):
    inp, out = f"{a.out}/input.safetensors", f"{a.out}/logits-{device}.safetensors"
    safetensors.torch.save_file({"input": x.contiguous()}, inp)
    cmd = [a.dilute, "eval", "-m", weights, "--input-tensor", inp, "--logits-out", out, "--device", device]
    if arch:
        cmd += ["--arch", arch]
    subprocess.run(cmd, check=True, capture_output=True)
    return safetensors.torch.load_file(out)["logits"]


def rel(a_, b_):
    return float((a_ - b_).abs().max() / b_.abs().max().clamp_min(1e-12))


# 1. logits against timm
torch.manual_seed(0)
m = timm.create_model("deit_small_patch16_224", pretrained=False).eval()
weights = f"{a.out}/deit_small_timm.safetensors"
safetensors.torch.save_file({k: v.contiguous() for k, v in m.state_dict().items()}, weights)
x = torch.randn(8, 3, 224, 224, generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    ref_cpu = m(x)
    ref_gpu = m.cuda()(x.cuda()).cpu()
result["logits_rel_diff_cpu"] = rel(dilute_logits(weights, x, "cpu", "deit_small_patch16_224"), ref_cpu)
result["logits_rel_diff_cuda"] = rel(dilute_logits(weights, x, "cuda", "deit_small_patch16_224"), ref_gpu)
result["logits_ok"] = max(result["logits_rel_diff_cpu"], result["logits_rel_diff_cuda"]) <= 1e-4

# 2. the pruned TorchScript export, loaded by this torch
if a.pruned:
    ts = torch.jit.load(f"{a.pruned}/pruned.pt").eval()
    cfg_x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        got = ts(cfg_x)
    result["torchscript_rel_diff"] = rel(got, dilute_logits(f"{a.pruned}/pruned.safetensors", cfg_x, "cpu"))


# 3. speed: timm eager, bf16 autocast, same shapes as gpu-check.sh's Dilute figures
def timm_speed(name, batch, train, steps=20, warm=5):
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False).cuda()
    model.train(train)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    xb = torch.randn(batch, 3, 224, 224, device="cuda")
    yb = torch.randint(0, 1000, (batch,), device="cuda")
    for i in range(warm + steps):
        if i == warm:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            if train:
                loss = torch.nn.functional.cross_entropy(model(xb).float(), yb)
            else:
                with torch.no_grad():
                    model(xb)
        if train:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - t0)


ours = json.load(open(a.dilute_json)) if a.dilute_json else {}
speed = {}
for name, batch in (("deit_small_patch16_224", 128), ("deit_base_patch16_224", 64)):
    t_train, t_fwd = timm_speed(name, batch, True), timm_speed(name, batch, False)
    entry = {"batch": batch, "timm_train_img_s": t_train, "timm_forward_img_s": t_fwd}
    for k in ("train_img_s", "forward_img_s"):
        v = ours.get(name, {}).get(k)
        if v:
            entry["dilute_" + k] = v
            entry["ratio_" + k] = v / (t_train if k == "train_img_s" else t_fwd)
    speed[name] = entry
result["speed"] = speed
print(json.dumps(result, indent=2))
with open(f"{a.out}/timm.json", "w") as f:
    json.dump(result, f, indent=2)
