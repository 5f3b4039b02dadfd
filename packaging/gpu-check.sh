#!/usr/bin/env bash
# The GPU check: one prepared call on a lent GPU machine (device tool), from the repository root,
# with .gpu-bundle carried along (packaging/gpu-bundle.sh):
#   packaging/gpu-check.sh            (budget GPU_CHECK_BUDGET s, default 400: under 7 minutes)
# Stages (packaging/gpu/runner.sh: each with its own time limit, a line in summary.md the moment
# it ends, skipped when its prerequisites failed or the budget is spent), GPU work first:
#   env        GPU, driver, torch, CUDA, nvcc, NCCL, tools, bundle; picks how to find LibTorch
#   configure  against the pip torch: its TorchConfig.cmake with nvcc, or imported from the wheel
#              without (DILUTE_TORCH_WHEEL); TORCH_CUDA_ARCH_LIST = the card's compute capability
#   build      only dilute, dilute_gpu_tests and bench_step (-k 0; tests listed at run time)
#   gpu_tests  the CUDA tests: DeiT-S logits CUDA = CPU (fp32, TF32 off), NCCL with one rank,
#              Gloo staging CUDA tensors, bf16 dilution training, fused = explicit attention
#   train_amp  short bf16 and fp16 dilution trainings (loss scaler active, no NaN), img/s
#   measure    export + measure of the bf16 run on CUDA (bf16 autocast)
#   dist       2 processes on the GPUs over c10d (sharing one GPU over Gloo when there is one)
#   bench      DeiT-S full vs attention of 0,2,4,6 removed, fp32 and bf16
#   attention  fused (SDPA) vs explicit attention, training step and forward img/s
#   resume     a CUDA run stopped at step 30 and resumed
#   timm       tests/gpu/compare_timm.py when timm is importable: logits, TorchScript, speed
#   cpu_tests  the unit tests with CUDA hidden, only if time is left
# Writes only $OUT/summary.md and $OUT/logs.tar.gz (work in GPU_CHECK_WORK, default
# /tmp/dilute-gpu), and prints summary.md at the end. Exit status 0 when no stage failed.
# The dry run on a machine without a GPU: packaging/gpu-dryrun.sh (GPU_CHECK_STUB: a file sourced
# after these stages, which replaces the CUDA parts).
set -uo pipefail
set -a # every variable reaches the stages, which run in their own shells
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/dilute-gpu-out}
WORK=${GPU_CHECK_WORK:-/tmp/dilute-gpu}
BUDGET=${GPU_CHECK_BUDGET:-400}
BUNDLE=${DILUTE_BUNDLE:-$SRC/.gpu-bundle}
PY=${PYTHON:-python3}
DRY=${DRY:-} # set by the dry run's stub: CUDA-only assertions are reported, not checked
# Sizes (the dry run makes them small).
TRAIN_LIMIT=${TRAIN_LIMIT:-12000} TEST_LIMIT=${TEST_LIMIT:-2000} EPOCHS=${EPOCHS:-3} BATCH=${BATCH:-128}
STOP_AT=${STOP_AT:-30} BENCH_MODEL=${BENCH_MODEL:-deit_small_patch16_224} BENCH_BATCH=${BENCH_BATCH:-256}
SPEED_MODELS=${SPEED_MODELS:-"deit_small_patch16_224:128 deit_base_patch16_224:64"}
. "$SRC/packaging/gpu/runner.sh"

probe_torch() {
  "$PY" - <<'PY'
import os, torch
print(f"TORCH_VERSION={torch.__version__}")
print(f"TORCH_CUDA={torch.version.cuda or 'none'}")
print(f"TORCH_CUDNN={torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else 'none'}")
print(f"TORCH_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}")
print(f"TORCH_DIR={os.path.dirname(torch.__file__)}")
print(f"TORCH_GPUS={torch.cuda.device_count()}")
cap = torch.cuda.get_device_capability(0) if torch.cuda.is_available() else ()
print(f"TORCH_ARCH={'.'.join(map(str, cap))}")  # the compute capability: TORCH_CUDA_ARCH_LIST
try:
    import timm, safetensors
    print(f"TIMM={timm.__version__}")
except ImportError:
    print("TIMM=none")
PY
}

# The first existing file among the arguments, or "none".
first_of() {
  for f in "$@"; do [ -n "$f" ] && [ -e "$f" ] && { echo "$f"; return; }; done
  echo none
}

find_nvcc() { first_of "${CUDACXX:-}" "${CMAKE_CUDA_COMPILER:-}" "$(command -v nvcc)" /usr/local/cuda/bin/nvcc; }

stage_env() {
  local smi probe site nvcc
  fig "host: $(nproc) cores, $(awk '/MemTotal/ {printf "%d GiB", $2 / 1048576}' /proc/meminfo), /tmp free $(df -h /tmp | awk 'NR == 2 {print $4}')"
  smi=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
  fig "GPU: ${smi:-none (nvidia-smi found no GPU)}"
  probe=$(probe_torch) || { fig "torch: not importable by $PY"; return 1; }
  echo "$probe" >"$WORK/env.sh"
  . "$WORK/env.sh"
  fig "torch $TORCH_VERSION, CUDA $TORCH_CUDA, cuDNN $TORCH_CUDNN, C++11 ABI $TORCH_ABI, $TORCH_GPUS GPU(s)" \
    "of compute capability ${TORCH_ARCH:-none}, timm $TIMM"
  nvcc=$(find_nvcc)
  [ "$nvcc" = none ] && nvcc=""
  site=$(dirname "$TORCH_DIR")
  if [ -n "$nvcc" ]; then fig "nvcc: $nvcc ($("$nvcc" --version | grep -o 'release [0-9.]*'))"; else fig "nvcc: none"; fi
  fig "nccl.h: $(first_of "$site/nvidia/nccl/include/nccl.h" /usr/include/nccl.h /usr/local/cuda/include/nccl.h)" \
    "libnccl: $(first_of "$site"/nvidia/nccl/lib/libnccl.so* /usr/lib/x86_64-linux-gnu/libnccl.so.2)"
  fig "$(cmake --version | head -1), ninja $(ninja --version 2>/dev/null || echo none), $(c++ --version | head -1)"
  {
    echo "NVCC=$nvcc"
    echo "ARCH=$TORCH_ARCH"
    echo "GEN='$(command -v ninja >/dev/null && echo Ninja || echo Unix Makefiles)'"
    echo "JOBS=$(nproc)"
    echo "BUILD=$WORK/build"
    echo "DILUTE=$WORK/build/app/dilute GPU_TESTS=$WORK/build/tests/dilute_gpu_tests"
    echo "BENCH_STEP=$WORK/build/tests/bench/bench_step DEV=cuda"
    echo "DILUTE_FASHION_MNIST_DIR=$BUNDLE/fashion-mnist"
  } >>"$WORK/env.sh"
  [ -d "$BUNDLE/usr/include/nlohmann" ] || { fig "bundle: $BUNDLE missing (packaging/gpu-bundle.sh, carried)"; return 1; }
  [ "$TORCH_GPUS" -gt 0 ] || { fig "torch sees no CUDA device: nothing to check"; return 1; }
}

# cmake against the pip torch: $1 = config (TorchConfig.cmake, needs nvcc) | wheel.
configure_with() {
  local args=(-S "$SRC" -B "$BUILD" -G "$GEN" -DCMAKE_BUILD_TYPE=Release -DDILUTE_BUILD_GUI=OFF
    -DDILUTE_WITH_OPENCV=OFF -DDILUTE_WITH_ONNX=OFF -DDILUTE_BUNDLE="$BUNDLE" -DDILUTE_TEST_DISCOVERY=PRE_TEST
    -DCMAKE_DISABLE_FIND_PACKAGE_Qt6=ON -DCMAKE_DISABLE_FIND_PACKAGE_ONNX=ON)
  if [ "$1" = config ]; then
    args+=(-DCMAKE_PREFIX_PATH="$TORCH_DIR/share/cmake" -DCUDA_TOOLKIT_ROOT_DIR="$(dirname "$(dirname "$NVCC")")"
      -DCUDAToolkit_ROOT="$(dirname "$(dirname "$NVCC")")")
  else
    args+=(-DDILUTE_TORCH_WHEEL="$TORCH_DIR" -DDILUTE_TORCH_CXX11_ABI="$TORCH_ABI")
  fi
  rm -rf "$BUILD"
  CUDACXX=$NVCC TORCH_CUDA_ARCH_LIST=$ARCH cmake "${args[@]}"
}

stage_configure() {
  local how=wheel
  if [ -n "$NVCC" ]; then
    if configure_with config; then
      how="TorchConfig.cmake with $NVCC"
    else
      echo "gpu-check: the TorchConfig.cmake configure failed (above); importing LibTorch from the wheel instead"
    fi
  fi
  [ "$how" = wheel ] && { configure_with wheel || return 1; how="imported from the wheel $TORCH_DIR"; }
  fig "LibTorch: $how; TORCH_CUDA_ARCH_LIST=$ARCH"
  grep -aE "C\+\+ standard|NCCL:|GoogleTest|nlohmann" "$WORK/logs/configure.log" | sed 's/^-- //' >>"$FIG"
}

stage_build() {
  local keep=-k
  [ "$GEN" = Ninja ] && keep="-k 0"
  cmake --build "$BUILD" -j"$JOBS" --target dilute dilute_gpu_tests bench_step -- $keep
  local rc=$?
  fig "built: $(for b in "$DILUTE" "$GPU_TESTS" "$BENCH_STEP"; do [ -x "$b" ] && printf '%s ' "$(basename "$b")"; done)"
  [ $rc -eq 0 ] || grep -aE "error:|Error " "$WORK/logs/build.log" | head -3 >>"$FIG"
  [ -x "$DILUTE" ]
}

stage_gpu_tests() {
  "$GPU_TESTS" --gtest_color=no
  local rc=$?
  grep -aE "^\[  (PASSED|FAILED|SKIPPED) +\] [0-9]+ test" "$WORK/logs/gpu_tests.log" >>"$FIG"
  grep -aE "^\[  FAILED  \] Gpu|DeiT-S logits" "$WORK/logs/gpu_tests.log" >>"$FIG"
  grep -aB1 "^\[  SKIPPED \] Gpu" "$WORK/logs/gpu_tests.log" | grep -av "^\[\|^--" | sort -u | sed 's/^/skip: /' >>"$FIG"
  return $rc
}

train_run() { # OUT_DIR AMP EPOCHS [more options]: vit_nano on the bundle's Fashion-MNIST, blocks 0, 2 diluted
  local dir=$1 amp=$2 epochs=$3
  shift 3
  "$DILUTE" train -m vit_nano_patch7_28 --device "$DEV" --amp "$amp" --epochs "$epochs" --batch "$BATCH" \
    --train-limit "$TRAIN_LIMIT" --test-limit "$TEST_LIMIT" -s 0,2 --decay-end "$(((epochs + 1) / 2))" --workers 4 \
    -o "$dir" --overwrite "$@"
}

stage_train_amp() {
  local amp expect line rc=0
  for amp in bf16 fp16; do
    expect=$amp
    [ -n "$DRY" ] && expect=off # the dry run trains on the CPU, in fp32
    train_run "$WORK/run-$amp" "$amp" "$EPOCHS" || rc=1
    line=$("$PY" "$SRC/tests/gpu/check_metrics.py" "$WORK/run-$amp" --amp "$expect" 2>&1) || rc=1
    fig "run-$amp: $line"
  done
  return $rc
}

stage_measure() {
  "$DILUTE" measure -r "$WORK/run-bf16" --device "$DEV" --eval-images "$TEST_LIMIT" \
    -b "$BENCH_BATCH" --precision bf16 --repeats 5 --rounds 2 --no-onnx || return 1
  grep -aE "^device|top-1|images/s|latency p50|memory" "$WORK/logs/measure.log" >>"$FIG"
}

stage_dist() {
  local shared=""
  [ "$TORCH_GPUS" -lt 2 ] && shared=--allow-shared-gpu
  if [ -n "$shared" ] && [ -z "$DRY" ]; then # one GPU: two ranks on it are refused unless allowed
    train_run "$WORK/run-refused" off 1 --nproc 2 >"$WORK/refused.log" 2>&1 &&
      { fig "2 processes on 1 GPU were not refused"; return 1; }
    fig "refused without --allow-shared-gpu: $(grep -ao 'LOCAL_RANK=[^;]*' "$WORK/refused.log" | head -1)"
  fi
  train_run "$WORK/run-dist" off 1 --nproc 2 $shared || return 1
  grep -aE "share|test top-1|processes" "$WORK/logs/dist.log" | head -4 >>"$FIG"
}

stage_bench() {
  local p
  for p in fp32 bf16; do
    "$DILUTE" bench -m "$BENCH_MODEL" --remove 0,2,4,6 --device "$DEV" --batch "$BENCH_BATCH" --precision "$p" \
      --repeats 10 --rounds 2 --json >"$WORK/bench-$p.json" || return 1
    fig "$("$PY" "$SRC/tests/gpu/figures.py" bench "$WORK/bench-$p.json")"
  done
}

stage_attention() {
  local spec fused
  : >"$WORK/dilute-speed.json"
  for spec in $SPEED_MODELS; do
    for fused in 1 0; do
      DILUTE_FUSED_ATTENTION=$fused "$BENCH_STEP" "${spec%%:*}" "${spec##*:}" "$DEV" bf16 20 >"$WORK/speed.json" || return 1
      cat "$WORK/speed.json"
      fig "$("$PY" "$SRC/tests/gpu/figures.py" speed "$WORK/speed.json")"
      if [ $fused = 1 ]; then cat "$WORK/speed.json" >>"$WORK/dilute-speed.json"; fi
    done
  done
}

stage_resume() {
  train_run "$WORK/run-resume" bf16 "$EPOCHS" --stop-at-step "$STOP_AT" || return 1
  "$DILUTE" train --resume "$WORK/run-resume" || return 1
  local line rc=0
  line=$("$PY" "$SRC/tests/gpu/check_metrics.py" "$WORK/run-resume" --resumed-at "$STOP_AT" 2>&1) || rc=1
  fig "$line"
  return $rc
}

stage_timm() {
  if [ "$TIMM" = none ]; then
    fig "timm or safetensors not importable by $PY: nothing to compare against"
    return 3
  fi
  "$PY" "$SRC/tests/gpu/figures.py" merge "$WORK/dilute-speed.json"
  "$PY" "$SRC/tests/gpu/compare_timm.py" "$DILUTE" "$WORK/timm" --pruned "$WORK/run-bf16/export" \
    --dilute-json "$WORK/dilute-speed.json"
  local rc=$?
  grep -aE "^[a-z_]+: \{|cases ok" "$WORK/logs/timm.log" | cut -c1-400 >>"$FIG"
  return $rc
}

stage_cpu_tests() {
  cmake --build "$BUILD" -j"$JOBS" --target dilute_core_tests || return 1
  (cd "$BUILD" && CUDA_VISIBLE_DEVICES='' ctest -L unit -j"$JOBS" --timeout 120 --output-on-failure)
  local rc=$?
  grep -aE "tests passed|tests failed|\(Failed\)" "$WORK/logs/cpu_tests.log" | head -8 >>"$FIG"
  return $rc
}

main() {
  [[ "$BUDGET" =~ ^[1-9][0-9]*$ ]] || { echo "gpu-check: GPU_CHECK_BUDGET=$BUDGET: expected seconds (a positive integer)" >&2; exit 2; }
  GC_T0=$(gc_now)
  rm -rf "$WORK" && mkdir -p "$WORK/logs" "$WORK/figures" "$OUT" || exit 2
  rm -f "$OUT/summary.md" "$OUT/logs.tar.gz"
  printf '# Dilute GPU check, %s\n\nCommit %s, budget %s s.\n\n' "$(date -u +%FT%TZ)" \
    "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$BUDGET" >"$WORK/summary.md"
  trap gc_interrupted INT TERM
  # shellcheck disable=SC1090 # the dry run's stubs
  [ -n "${GPU_CHECK_STUB:-}" ] && . "$GPU_CHECK_STUB"
  # shellcheck disable=SC2046 # one word per function name
  export -f $(declare -F | awk '{print $3}')
  gc_stage env 30 5
  gc_stage configure 90 20 env
  gc_stage build 240 60 configure
  gc_stage gpu_tests 90 20 build
  gc_stage train_amp 90 30 build
  gc_stage measure 45 15 train_amp
  gc_stage dist 60 20 build
  gc_stage bench 60 20 build
  gc_stage attention 60 20 build
  gc_stage resume 45 15 build
  gc_stage timm 60 20 attention
  gc_stage cpu_tests 300 150 build
  gc_finish
}

main "$@"
