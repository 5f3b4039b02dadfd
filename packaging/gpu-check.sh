#!/usr/bin/env bash
# GPU check, run on the GPU machine from the repository root, one command (< 8 min warm):
#   packaging/gpu-check.sh            (needs .gpu-bundle from packaging/gpu-bundle.sh, carried along)
# 1. configures against the pip torch's LibTorch with the bundle (no Qt, no OpenCV), builds the
#    core, the CLI, the core and gpu tests and the step benchmark with ninja;
# 2. runs the core tests and the CUDA ones (ctest labels unit + gpu);
# 3. on CUDA: a short dilution training of vit_nano_patch7_28 with bf16 autocast (loss falls, lambda
#    reaches 0), `analyze` with NOSE, `export`, `bench` of DeiT-S batch 256 full vs pruned (AMP);
# 4. tests/gpu/compare_timm.py: logits against timm (fp32), the TorchScript export in this torch,
#    training-step and forward img/s side by side with timm (bf16);
# and writes a summary (figures + versions) to $OUT/summary.md (default /tmp/dilute-gpu).
# The dry run of steps 1-2 on a machine without a GPU: packaging/gpu-dryrun.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/dilute-gpu}
BUNDLE=${DILUTE_BUNDLE:-$PWD/.gpu-bundle}
BUILD=${GPU_BUILD:-build-gpu}
mkdir -p "$OUT"
S="$OUT/summary.md"
T0=$(date +%s)
fail=0
step() { echo "== $* ($(( $(date +%s) - T0 )) s)" | tee -a "$S"; }
[ -d "$BUNDLE/usr/include/nlohmann" ] || { echo "gpu-check: $BUNDLE missing: run packaging/gpu-bundle.sh and carry it"; exit 2; }
PY=${PYTHON:-python3}
{
  echo "# Dilute GPU check $(date -u +%FT%TZ)"
  echo
  $PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI)'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: none"
  cmake --version | head -1; ninja --version; c++ --version | head -1
} 2>&1 | tee "$S"
PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')

step "configure + build"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DDILUTE_BUILD_GUI=OFF -DDILUTE_WITH_OPENCV=OFF -DDILUTE_BUNDLE="$BUNDLE" \
  -DCMAKE_DISABLE_FIND_PACKAGE_Qt6=ON >"$OUT/configure.log" 2>&1 || { tail -20 "$OUT/configure.log"; exit 1; }
cmake --build "$BUILD" -j"$(nproc)" --target dilute dilute_core_tests dilute_gpu_tests bench_step >"$OUT/build.log" 2>&1 \
  || { grep -m20 -E "error|Error" "$OUT/build.log"; tail -5 "$OUT/build.log"; exit 1; }
export DILUTE_FASHION_MNIST_DIR="$BUNDLE/fashion-mnist"
B="$BUILD/app/dilute"

step "core + gpu tests"
(cd "$BUILD" && ctest -L 'unit|gpu' -j8 --timeout 300 --output-on-failure) >"$OUT/ctest.log" 2>&1 || fail=1
grep -E "tests passed|tests failed|\(Failed\)|\(SKIPPED\)|Not Run" "$OUT/ctest.log" | tee -a "$S"
grep -E "Skipped|SKIPPED" -A1 "$OUT/ctest.log" | grep -v "^--" | head -10 >>"$S"

step "bf16 dilution training on CUDA"
$B train -m vit_nano_patch7_28 --device cuda --amp bf16 --epochs 4 --batch 128 --train-limit 12000 --test-limit 2000 \
  --select 0,2 --decay-end 3 --workers 8 -o "$OUT/run" --overwrite >"$OUT/train.log" 2>&1 || fail=1
tail -6 "$OUT/train.log" | tee -a "$S"
$PY - "$OUT/run/metrics.jsonl" <<'PY' | tee -a "$S" || fail=1
import json, sys
steps = [e for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "step"]
first, last = steps[0], steps[-1]
mid = [e for e in steps if e["lambda"][0] > 0.5]
zero = [e for e in steps if e["lambda"][0] == 0.0]
rate = lambda es: sorted(e["images_per_s"] for e in es)[len(es) // 2] if es else 0
print(f"loss {first['loss']:.3f} -> {last['loss']:.3f}; lambda {first['lambda']} -> {last['lambda']}; "
      f"median img/s while lambda > 0.5: {rate(mid):.0f}, once lambda = 0 (attention skipped): {rate(zero):.0f}")
assert last["loss"] < first["loss"] and last["lambda"] == [0.0, 0.0]
PY

step "analyze (NOSE) on CUDA"
$B analyze -m "$OUT/run/final.safetensors" --device cuda --calib 2048 --k 2 --selector nose >"$OUT/analyze.log" 2>&1 || fail=1
grep -E "selection|transfer-entropy evaluations" "$OUT/analyze.log" | tee -a "$S"

step "export + bench (DeiT-S batch 256, CUDA, full vs attention of 0,2,4,6 removed)"
$B measure -r "$OUT/run" --device cuda --eval-images 2000 -b 256 --repeats 5 --rounds 2 >"$OUT/measure.log" 2>&1 || fail=1
tail -9 "$OUT/measure.log" >>"$S"
$B bench -m deit_small_patch16_224 --remove 0,2,4,6 --device cuda --batch 256 --repeats 10 --rounds 3 >"$OUT/bench.log" 2>&1 || fail=1
tee -a "$S" <"$OUT/bench.log"

step "Dilute vs timm (logits, TorchScript, speed side by side)"
: >"$OUT/dilute-speed.json"
for spec in "deit_small_patch16_224 128" "deit_base_patch16_224 64"; do
  set -- $spec
  "$BUILD/tests/bench/bench_step" "$1" "$2" cuda bf16 20 >>"$OUT/dilute-speed.json" 2>>"$OUT/bench_step.log" || fail=1
done
$PY -c 'import json,sys; d={}; [d.update(json.loads(l)) for l in open(sys.argv[1]) if l.strip()]; json.dump(d, open(sys.argv[1],"w"))' "$OUT/dilute-speed.json"
$PY tests/gpu/compare_timm.py "$B" "$OUT/timm" --pruned "$OUT/run/export" --dilute-json "$OUT/dilute-speed.json" \
  >"$OUT/timm.log" 2>&1 || fail=1
tail -40 "$OUT/timm.log" | tee -a "$S"

step "done: $([ $fail -eq 0 ] && echo all steps passed || echo SOME STEPS FAILED, see the logs in $OUT)"
exit $fail
