#!/usr/bin/python3
"""`dilute analyze` end to end against the naive greedy NOSE loop in plain PyTorch eager.

The PyTorch side: the timm-shaped ViT of vs_pytorch.py (timm init), 2,048 calibration images,
the entropy profile's forward plus, for K greedy rounds, one full forward over the calibration
set per candidate with the attention of S + {candidate} skipped, H_out = the Gaussian entropy of
the CLS feature (sum of log sigma per channel): the loop a researcher would write. The Dilute
side: `dilute analyze -m PRESET --calib 2048 --k K` (data loading, profile, T({i}), NOSE with
the prefix cache), timed as a whole process. Both with 2 threads, sleeping OpenMP workers and
the same allocator set-up, alternating for ROUNDS rounds; medians and their ratio are printed.
Run: tests/bench/nose_vs_pytorch.py [--rounds 2] [--k 4] [--dilute build/app/dilute]
Uses Debian's python3-torch (PyTorch 1.13); never a dependency of the product.
"""
import argparse
import math
import os
import statistics
import subprocess
import sys
import time

if "MALLOC_MMAP_THRESHOLD_" not in os.environ:  # as vs_pytorch.py: Dilute's allocator set-up
    os.environ["MALLOC_MMAP_THRESHOLD_"] = str(512 << 20)
    os.environ["MALLOC_TRIM_THRESHOLD_"] = str(1 << 30)
    os.execv(sys.executable, [sys.executable] + sys.argv)
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "2"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vs_pytorch import PRESETS, ViT, timm_init  # noqa: E402


def entropy(feats):
    f = torch.cat(feats).double()
    var = f.var(0, unbiased=False).clamp_min(1e-24)
    return 0.5 * var.log().sum().item() + f.shape[1] / 2 * math.log(2 * math.pi * math.e)


def run_skipping(model, batches, skip):
    feats = []
    with torch.inference_mode():
        for x in batches:
            h = model.patch_embed(x).flatten(2).transpose(1, 2)
            h = torch.cat([model.cls_token.expand(h.shape[0], -1, -1), h], 1) + model.pos_embed
            for i, b in enumerate(model.blocks):
                if i in skip:
                    h = h + b.fc2(torch.nn.functional.gelu(b.fc1(b.norm2(h))))
                else:
                    h = b(h)
            feats.append(model.norm(h[:, 0]))
    return entropy(feats)


def pytorch_nose(name, calib, k):
    cfg = PRESETS[name]
    model = timm_init(ViT(*cfg)).eval()
    torch.manual_seed(0)
    batches = [torch.randn(256, cfg[2], cfg[0], cfg[0]) for _ in range(calib // 256)]
    t0 = time.perf_counter()
    full = run_skipping(model, batches, set())
    chosen = []
    for _ in range(k):
        best = None
        for c in range(cfg[4]):
            if c in chosen:
                continue
            t = full - run_skipping(model, batches, set(chosen + [c]))
            if best is None or t < best[0]:
                best = (t, c)
        chosen.append(best[1])
    return time.perf_counter() - t0, chosen


def dilute_analyze(exe, name, calib, k):
    t0 = time.perf_counter()
    subprocess.run([exe, "analyze", "-m", name, "--calib", str(calib), "--k", str(k), "--json"], check=True,
                   capture_output=True)
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--calib", type=int, default=2048)
    p.add_argument("--model", default="vit_micro_patch7_28")
    p.add_argument("--dilute", default="build/app/dilute")
    a = p.parse_args()
    torch.set_num_threads(2)
    ours, theirs = [], []
    for _ in range(a.rounds):
        ours.append(dilute_analyze(a.dilute, a.model, a.calib, a.k))
        s, chosen = pytorch_nose(a.model, a.calib, a.k)
        theirs.append(s)
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"{a.model}, {a.calib} calibration images, K={a.k}, {a.rounds} rounds alternating, 2 threads")
    print(f"dilute analyze (whole process: load, profile, T({{i}}), NOSE): {o:.1f} s  {ours}")
    print(f"PyTorch naive greedy loop (forwards only, data in memory):   {t:.1f} s  {theirs}")
    print(f"ratio: {o / t:.2f}")


if __name__ == "__main__":
    main()
