#!/usr/bin/python3
"""Dilute against PyTorch eager, side by side on the same machine, shapes and thread count.

The PyTorch side is the timm-shaped ViT written in plain PyTorch (patch-embedding conv, class
token, position embedding, pre-norm blocks with a fused qkv Linear and explicit softmax
attention, GELU MLP, head), run in eval mode under torch.inference_mode(). The Dilute side is
build/tests/bench/bench_step (the product's own model, forward only). The two alternate for
ROUNDS rounds (each a fresh process for Dilute, the same warm process for PyTorch); the medians
and their ratio are printed with the machine's sgemm rate (torch.mm 2048^3, the BLAS both use).
Uses Debian's python3-torch (PyTorch 1.13); never a dependency of the product.
Run: tests/bench/vs_pytorch.py [--rounds 3] [--threads 2] [--quick] [--with-aten] [--bench build/tests/bench/bench_step]
(--with-aten adds a column: Dilute with its CPU kernels off, DILUTE_CPU_KERNELS=0, i.e. ATen's
operators for the attention and the Linears, the way it ran before model/kernels.cpp.)
(OMP_NUM_THREADS / OPENBLAS_NUM_THREADS are set to --threads for both sides, OMP_WAIT_POLICY to
PASSIVE unless set, and glibc's mmap threshold to Dilute's 512 MB.)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# The same allocator set-up on both sides: Dilute keeps blocks up to 512 MB in glibc's heap
# (util/runtime.cpp configureAllocator); with glibc's default, every activation over 32 MB is a
# fresh mmap whose pages fault in on each use (measured: PyTorch DeiT-S batch 32 at 5.0 img/s).
# glibc reads the tunable when the process starts, so the script re-executes itself once.
if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
    os.environ["MALLOC_MMAP_THRESHOLD_"] = str(512 << 20)
    os.environ["MALLOC_TRIM_THRESHOLD_"] = str(1 << 30)
    os.execv(sys.executable, [sys.executable] + sys.argv)

# The thread count is fixed for both sides before torch loads: OpenMP and OpenBLAS read it at start.
_threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "2"
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = _threads
# Idle OpenMP workers sleep on both sides: spinning ones starve OpenBLAS's threads (PyTorch's
# matrix products and the sgemm rate below lose half their speed on 2 cores), and Dilute runs
# its jobs this way by default (util/runtime.h). OMP_WAIT_POLICY=ACTIVE in the environment
# measures the other setting.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

PRESETS = {  # name: (img, patch, in_chans, dim, depth, heads, classes)
    "deit_tiny_patch16_224": (224, 16, 3, 192, 12, 3, 1000),
    "deit_small_patch16_224": (224, 16, 3, 384, 12, 6, 1000),
    "vit_micro_patch7_28": (28, 7, 1, 96, 12, 4, 10),
}


class Block(nn.Module):
    def __init__(self, dim, heads, attention=True):
        super().__init__()
        self.heads, self.attention = heads, attention
        if attention:
            self.norm1 = nn.LayerNorm(dim, eps=1e-6)
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        if self.attention:
            B, N, C = x.shape
            qkv = self.qkv(self.norm1(x)).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            a = ((q * (C // self.heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
            x = x + self.proj((a @ v).transpose(1, 2).reshape(B, N, C))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    def __init__(self, img, patch, chans, dim, depth, heads, classes, removed=()):
        super().__init__()
        self.patch_embed = nn.Conv2d(chans, dim, patch, patch)
        n = (img // patch) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads, i not in removed) for i in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        for b in self.blocks:
            x = b(x)
        return self.head(self.norm(x[:, 0]))


def timm_init(model):
    """timm's ViT initialisation, as Dilute's models have it: Linear weights N(0, 0.02) (timm uses a
    truncated normal), zero biases, LayerNorm 1 / 0. PyTorch's default Linear init gives far larger
    attention logits, whose softmax underflows into subnormal floats that make every later matrix
    product slow (measured: DeiT-S 5.4 img/s with the default init): not a fair comparison."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(model.cls_token, std=0.02)
    return model


def macs(img, patch, chans, dim, depth, heads, classes, removed=()):
    n = (img // patch) ** 2 + 1
    m = (img // patch) ** 2 * chans * patch * patch * dim + dim * classes
    for i in range(depth):
        if i not in removed:
            m += n * dim * 3 * dim + 2 * n * n * dim + n * dim * dim
        m += 2 * n * dim * 4 * dim
    return m


def pytorch_ips(model, x, reps):
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        t = []
        for _ in range(reps):
            t0 = time.perf_counter()
            model(x)
            t.append(time.perf_counter() - t0)
    return x.shape[0] / statistics.median(t)


def dilute_ips(bench, name, batch, reps, removed, kernels=True):
    # PyTorch's OpenBLAS workers spin on the cores for a while after its last product (this
    # process stays alive): let them go to sleep before Dilute's process starts, or they take
    # its cores (measured: DeiT-S batch 1, 70.8 ms right after PyTorch against 61 ms alone).
    time.sleep(1.0)
    env = dict(os.environ, DILUTE_CPU_KERNELS="1" if kernels else "0")
    out = subprocess.run([bench, name, str(batch), "cpu", "off", str(reps), "forward", ",".join(map(str, removed))],
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out)[name]["forward_img_s"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bench", default="build/tests/bench/bench_step")
    p.add_argument("--quick", action="store_true", help="DeiT-S only (batch 32, pruned, batch 1)")
    p.add_argument("--with-aten", action="store_true", help="also Dilute with its CPU kernels off")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    A, B = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for _ in range(3):
        A @ B
    t = []
    for _ in range(15):
        t0 = time.perf_counter()
        A @ B
        t.append(time.perf_counter() - t0)
    # The best of 15: this shared machine's rate drifts by a third from minute to minute, and the
    # machine's capability is what "of sgemm" compares against.
    sgemm = 2 * 2048 ** 3 / min(t) / 1e9
    print(f"torch {torch.__version__}, {a.threads} threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, "
          f"sgemm 2048^3 (best of 15): {sgemm:.1f} GFLOP/s; {a.rounds} rounds, "
          "Dilute and PyTorch alternating\n")
    cases = [("deit_small_patch16_224", 32, (), 5), ("deit_tiny_patch16_224", 32, (), 5),
             ("deit_small_patch16_224", 32, (0, 2, 4, 6), 5), ("deit_small_patch16_224", 1, (), 30),
             ("vit_micro_patch7_28", 256, (), 10)]
    if a.quick:
        cases = [cases[0], cases[2], cases[3]]
    print(f"{'model':34s} {'batch':>5s} {'Dilute img/s':>13s} {'PyTorch img/s':>14s} {'ratio':>7s} "
          f"{'Dilute GFLOP/s':>15s} {'of sgemm':>9s}" + (f" {'kernels off':>12s}" if a.with_aten else ""))
    for name, batch, removed, reps in cases:
        cfg = PRESETS[name]
        model = timm_init(ViT(*cfg, removed=removed)).eval()
        x = torch.randn(batch, cfg[2], cfg[0], cfg[0])
        ours, theirs, aten = [], [], []
        for _ in range(a.rounds):
            ours.append(dilute_ips(a.bench, name, batch, reps, removed))
            theirs.append(pytorch_ips(model, x, reps))
            if a.with_aten:
                aten.append(dilute_ips(a.bench, name, batch, reps, removed, kernels=False))
        o, t_ = statistics.median(ours), statistics.median(theirs)
        off = f" {statistics.median(aten):12.1f}" if aten else ""
        gf = o * 2 * macs(*cfg, removed=removed) / 1e9
        label = name + (" minus attn " + ",".join(map(str, removed)) if removed else "")
        extra = f"   latency {1e3 / o:.1f} vs {1e3 / t_:.1f} ms ({t_ / o:.2f}x of PyTorch's time)" if batch == 1 else ""
        print(f"{label:34s} {batch:5d} {o:13.1f} {t_:14.1f} {o / t_:6.2f}x {gf:15.1f} {100 * gf / sgemm:8.0f}%{off}{extra}")


if __name__ == "__main__":
    main()
