#!/usr/bin/env python3
"""Dilute against timm on the GPU machine (packaging/gpu-check.sh runs it; needs torch, timm,
safetensors). Every case runs, whatever the others did: each prints one line "CASE: {json}" the
moment it ends (with the error and the command's stderr when it failed), and all of them go into
OUT/timm.json. Exit status 1 when a case failed or missed its target.
  logits_cpu, logits_cuda: timm's deit_small_patch16_224 (random init, seeded) saved with
      safetensors; one fixed batch through timm and through `dilute eval --input-tensor` (fp32,
      TF32 off): max |difference| / max |logit| (target <= 1e-4);
  torchscript: a pruned export (RUN/export/pruned.pt, --pruned) loaded by this torch, its logits
      against Dilute's own on the same batch (target <= 1e-4);
  speed_<model>: timm training steps (bf16 autocast, AdamW) and forward img/s for DeiT-S and
      DeiT-B, beside the figures gpu-check.sh measured for Dilute (--dilute-json).
Usage: compare_timm.py DILUTE_BIN OUT [--pruned RUN/export] [--pruned-shape 1,28,28] [--dilute-json FILE]
"""
import argparse
import json
import os
import subprocess
import sys
import time
import traceback

p = argparse.ArgumentParser()
p.add_argument("dilute")
p.add_argument("out")
p.add_argument("--pruned", default="")
p.add_argument("--pruned-shape", default="1,28,28")
p.add_argument("--dilute-json", default="")
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
cases = {}


def case(name, fn, target=None):
    """Runs fn() -> dict; records it, or the error. `target`: the key whose value must be <= 1e-4."""
    t0 = time.time()
    try:
        r = fn()
        r["ok"] = target is None or r[target] <= 1e-4
    except subprocess.CalledProcessError as e:
        r = {"ok": False, "error": f"{' '.join(e.cmd)} exited {e.returncode}", "stderr": (e.stderr or "")[-2000:]}
    except Exception as e:  # noqa: BLE001 - every case is reported, none stops the others
        r = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-2000:]}
    r["seconds"] = round(time.time() - t0, 1)
    cases[name] = r
    print(f"{name}: {json.dumps(r)}", flush=True)


def dilute_logits(weights, x, device, arch=None):
    inp, out = f"{a.out}/input.safetensors", f"{a.out}/logits-{device}.safetensors"
    safetensors.torch.save_file({"input": x.contiguous()}, inp)
    cmd = [a.dilute, "eval", "-m", weights, "--input-tensor", inp, "--logits-out", out, "--device", device]
    if arch:
        cmd += ["--arch", arch]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return safetensors.torch.load_file(out)["logits"]


def rel(a_, b_):
    return float((a_ - b_).abs().max() / b_.abs().max().clamp_min(1e-12))


def logits(device):
    torch.manual_seed(0)
    m = timm.create_model("deit_small_patch16_224", pretrained=False).eval()
    weights = f"{a.out}/deit_small_timm.safetensors"
    safetensors.torch.save_file({k: v.contiguous() for k, v in m.state_dict().items()}, weights)
    x = torch.randn(8, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = m.to(device)(x.to(device)).cpu()
    return {"rel_diff": rel(dilute_logits(weights, x, device, "deit_small_patch16_224"), ref)}


def torchscript():
    ts = torch.jit.load(f"{a.pruned}/pruned.pt").eval()
    shape = [int(v) for v in a.pruned_shape.split(",")]
    x = torch.randn(8, *shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        got = ts(x)
    return {"rel_diff": rel(got, dilute_logits(f"{a.pruned}/pruned.safetensors", x, "cpu"))}


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


def speed(name, batch, ours):
    entry = {"batch": batch, "timm_train_img_s": timm_speed(name, batch, True),
             "timm_forward_img_s": timm_speed(name, batch, False)}
    for k in ("train_img_s", "forward_img_s"):
        v = ours.get(name, {}).get(k)
        if v:
            entry["dilute_" + k] = v
            entry["ratio_" + k] = v / entry["timm_" + k]
    return entry


try:
    import safetensors.torch
    import timm
    import torch
except ImportError as e:
    print(f"imports: {json.dumps({'ok': False, 'error': str(e)})}")
    sys.exit(1)
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
versions = {"torch": torch.__version__, "cuda": torch.version.cuda, "timm": timm.__version__}
print(f"versions: {json.dumps(versions)}", flush=True)
case("logits_cpu", lambda: logits("cpu"), "rel_diff")
case("logits_cuda", lambda: logits("cuda"), "rel_diff")
if a.pruned:
    case("torchscript", torchscript, "rel_diff")
ours = {}
if a.dilute_json:
    try:
        ours = json.load(open(a.dilute_json))
    except (OSError, ValueError) as e:
        print(f"dilute_json: {json.dumps({'ok': False, 'error': str(e)})}")
for name, batch in (("deit_small_patch16_224", 128), ("deit_base_patch16_224", 64)):
    case("speed_" + name, lambda name=name, batch=batch: speed(name, batch, ours))
with open(f"{a.out}/timm.json", "w") as f:
    json.dump({"versions": versions, "cases": cases}, f, indent=2)
failed = [k for k, v in cases.items() if not v["ok"]]
print(f"{len(cases) - len(failed)} of {len(cases)} cases ok" + (f"; failed: {', '.join(failed)}" if failed else ""))
sys.exit(1 if failed else 0)
