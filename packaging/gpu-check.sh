#!/usr/bin/env bash
# GPU check: builds the core and the CLI (no GUI, no tests) against the LibTorch inside an
# installed PyTorch wheel, then runs a short CUDA training of a DeiT-Tiny-sized model on
# generated CIFAR-format data and a throughput figure. Prints everything; writes into $OUT
# (or /tmp/dilute-gpu) the logs and the JSON bench.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/dilute-gpu}
mkdir -p "$OUT"
PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
ABI=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
echo "torch $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)') at $PREFIX (cxx11 abi $ABI)"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
# Dependencies the core needs beyond LibTorch: nlohmann-json and CLI11 (headers), OpenCV, libjpeg-turbo, zlib.
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DDILUTE_BUILD_GUI=OFF -DDILUTE_BUILD_TESTS=OFF -DDILUTE_BUILD_BENCHMARKS=OFF \
  -DCMAKE_CXX_FLAGS="-D_GLIBCXX_USE_CXX11_ABI=$ABI" 2>&1 | tail -3
cmake --build build-gpu -j"$(nproc)" 2>&1 | tail -3
DATA=/tmp/dilute-gpu-data
python3 - "$DATA" <<'PY'
import os, sys, numpy as np
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(0)
def batch(n, path):
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    # Class-dependent colour so the task is learnable.
    img = rng.integers(0, 64, (n, 3, 32, 32), dtype=np.uint8)
    img[np.arange(n), labels % 3] += (labels[:, None, None] * 18).astype(np.uint8)
    rec = np.concatenate([labels[:, None], img.reshape(n, -1)], axis=1)
    rec.tofile(path)
for i in range(1, 6): batch(2000, f"{d}/data_batch_{i}.bin")
batch(2000, f"{d}/test_batch.bin")
PY
B=build-gpu/app/dilute
$B info -m deit_tiny_patch16_224 | head -6
$B train -m deit_tiny_patch16_224 --data cifar10:$DATA --device cuda --amp bf16 --epochs 2 --batch 64 \
  --train-limit 9600 --test-limit 2000 --select 0,2,4 --decay-end 1 --workers 8 -o "$OUT/run" 2>&1 | tail -8 | tee "$OUT/train.log"
$B export "$OUT/run" -o "$OUT/pruned.safetensors" | tee "$OUT/export.log"
$B bench -m deit_tiny_patch16_224 --vs "$OUT/pruned.safetensors" --device cuda --batch 256 --json | tee "$OUT/bench.json"
