#!/usr/bin/env bash
# The dry run of packaging/gpu-check.sh on a machine without a GPU (ctest: gpu_dryrun, label
# packaging; under a minute on 2 cores). It makes a bundle (packaging/gpu-bundle.sh: no link in
# it may dangle), configures against a CUDA-shaped wheel (libtorch-dev's files, empty CUDA
# libraries: CUDA, NCCL and the C++ standard found), then runs the check three times with the
# CUDA parts stubbed (GPU_CHECK_STUB):
#  1. every stage for real on this machine's CPU, at small sizes: nvidia-smi answers as an H100,
#     torch's probe answers with Debian's LibTorch in a wheel's layout (configured for real,
#     imported as a wheel, since there is no nvcc), and `dilute` / `bench_step` are BUILD_DIR's
#     binaries with cuda -> cpu and no mixed precision. Every stage must pass (timm: skipped).
#  2. the runner under faults, with every stage a stub: a hung stage killed at its limit with the
#     process it started, failed stages (and the stage that needs one skipped), the last stage
#     skipped for want of budget; the summary still complete;
#  3. SIGTERM in the middle of a stage: the stage killed with what it started, the summary naming
#     it, exit status 130.
# Each: $OUT holds only summary.md and logs.tar.gz, and the summary is printed at the end.
#   packaging/gpu-dryrun.sh BUILD_DIR   (a build of dilute, dilute_gpu_tests and bench_step)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: gpu-dryrun.sh BUILD_DIR}" && pwd)
T=$(mktemp -d /tmp/dilute-dryrun.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() {
  echo "gpu-dryrun: $*" >&2
  exit 1
}
for b in app/dilute tests/dilute_gpu_tests tests/bench/bench_step tests/dilute_core_tests; do
  [ -x "$BUILD/$b" ] || fail "$BUILD/$b is not built"
done

"$SRC/packaging/gpu-bundle.sh" "$T/bundle" >"$T/bundle.log" 2>&1 || fail "gpu-bundle.sh: $(tail -3 "$T/bundle.log")"
[ -z "$(find "$T/bundle" -xtype l)" ] || fail "dangling links in the bundle: $(find "$T/bundle" -xtype l)"
[ -f "$T/bundle/usr/lib/x86_64-linux-gnu/libz.a" ] || fail "the bundle has no static zlib"

# A pip wheel's layout (torch/include, torch/lib) made of libtorch-dev's files, as Debian's
# python3-torch does.
make_wheel() {
  mkdir -p "$1/include" "$1/lib"
  for d in ATen TH c10 caffe2 torch; do [ -d "/usr/include/$d" ] && ln -s "/usr/include/$d" "$1/include/$d"; done
  for l in libtorch.so libtorch_cpu.so libc10.so; do ln -s "/usr/lib/x86_64-linux-gnu/$l" "$1/lib/$l"; done
}

echo "gpu-dryrun: configure against a CUDA-shaped wheel (Debian's LibTorch, empty CUDA libraries)"
W=$T/site/torch
make_wheel "$W"
make_wheel "$T/cpu-site/torch"
mkdir -p "$W/share/cmake/Torch"
for f in torch/lib/libtorch_cuda.so torch/lib/libc10_cuda.so nvidia/nccl/include/nccl.h nvidia/nccl/lib/libnccl.so.2 \
  nvidia/cuda_runtime/include/cuda_runtime_api.h nvidia/cublas/include/cublas_v2.h; do
  mkdir -p "$(dirname "$T/site/$f")" && : >"$T/site/$f"
done
printf 'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=1")\n    CXX_STANDARD 20\n' >"$W/share/cmake/Torch/TorchConfig.cmake"
cmake -S "$SRC" -B "$T/wheel-build" -G Ninja -DDILUTE_TORCH_WHEEL="$W" -DDILUTE_BUILD_GUI=OFF -DDILUTE_WITH_OPENCV=OFF \
  -DDILUTE_BUILD_TESTS=OFF -DDILUTE_BUILD_BENCHMARKS=OFF -DDILUTE_WITH_ONNX=OFF -DCMAKE_DISABLE_FIND_PACKAGE_ONNX=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_Qt6=ON >"$T/wheel.log" 2>&1 || fail "configure: $(tail -5 "$T/wheel.log")"
for want in "Torch: imported from the package $W (C++ ABI 1, with CUDA)" "C++ standard: 20 (LibTorch asks for 20)" \
  "nccl.h $T/site/nvidia/nccl/include" "library $T/site/nvidia/nccl/lib/libnccl.so.2" "DILUTE_WITH_NCCL ON"; do
  grep -qF "$want" "$T/wheel.log" || fail "the CUDA wheel's configure did not say '$want': $(grep -E 'Torch:|NCCL' "$T/wheel.log")"
done
grep -q -- "-DDILUTE_WITH_NCCL" "$T/wheel-build/build.ninja" || fail "dilute_core is not compiled with DILUTE_WITH_NCCL"
grep -q -- "--no-as-needed,$W/lib/libtorch_cuda.so" "$T/wheel-build/build.ninja" || fail "libtorch_cuda.so is not linked"
grep -E "C\+\+ standard|Torch:|NCCL:" "$T/wheel.log"

mkdir -p "$T/bin"
printf '#!/bin/sh\necho "NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15"\n' >"$T/bin/nvidia-smi"
# The CPU binaries with the CUDA parts mapped away: cuda -> cpu, no --amp / --precision, bf16 -> off.
for b in dilute bench_step; do
  real=$BUILD/app/dilute
  [ $b = bench_step ] && real=$BUILD/tests/bench/bench_step
  cat >"$T/bin/$b" <<EOF
#!/usr/bin/env bash
args=()
skip=0
for a in "\$@"; do
  [ \$skip = 1 ] && { skip=0; continue; }
  case \$a in
    cuda | cuda:*) args+=(cpu) ;;
    bf16 | fp16) args+=(off) ;;
    --amp | --precision) skip=1 ;;
    *) args+=("\$a") ;;
  esac
done
exec "$real" "\${args[@]}"
EOF
done
chmod +x "$T"/bin/*

# Stubs of pass 1: what a CUDA machine would answer, and the build taken from BUILD_DIR.
cat >"$T/stub1.sh" <<EOF
DRY=1
find_nvcc() { echo none; }  # as on a bare pip machine: LibTorch imported from the wheel
probe_torch() {
  printf '%s\n' TORCH_VERSION=1.13.0 TORCH_CUDA=12.4 TORCH_CUDNN=none TORCH_ABI=1 \
    TORCH_DIR=$T/cpu-site/torch TORCH_GPUS=1 TORCH_ARCH=9.0 TIMM=none
}
eval "real_stage_env() \$(declare -f stage_env | tail -n +2)"
stage_env() {
  real_stage_env || return
  echo "DILUTE=$T/bin/dilute BENCH_STEP=$T/bin/bench_step GPU_TESTS=$BUILD/tests/dilute_gpu_tests" >>"\$WORK/env.sh"
}
stage_build() { fig "dry run: the binaries of $BUILD (no CUDA build here)"; }
stage_cpu_tests() {
  CUDA_VISIBLE_DEVICES= "$BUILD/tests/dilute_core_tests" --gtest_filter='TorchCompat.*:Placement.*' || return 1
  fig "dry run: TorchCompat and Placement of $BUILD/tests/dilute_core_tests"
}
EOF
export PATH="$T/bin:$PATH" DILUTE_BUNDLE="$T/bundle"
export TRAIN_LIMIT=512 TEST_LIMIT=200 EPOCHS=2 BATCH=64 STOP_AT=10 BENCH_MODEL=vit_tiny_patch4_32 BENCH_BATCH=8
export SPEED_MODELS="vit_nano_patch7_28:16"

check_out() { # $OUT holds only summary.md and logs.tar.gz; the logs hold each stage's log
  local out=$1
  [ "$(ls -A "$out" | sort | tr '\n' ' ')" = "logs.tar.gz summary.md " ] || fail "$out holds: $(ls -A "$out")"
  tar -tzf "$out/logs.tar.gz" | grep -q "^logs/env.log$" || fail "logs.tar.gz has no env.log"
  tar -tzf "$out/logs.tar.gz" | grep -q "^logs/summary.md$" || fail "logs.tar.gz has no summary.md"
  [ "$(grep -c '^- \*\*' "$out/summary.md")" = 12 ] || fail "summary.md has not one line per stage"
  grep -q "^Total .* s of a .* s budget" "$out/summary.md" || fail "summary.md has no total"
}

echo "gpu-dryrun: pass 1, every stage on the CPU"
rc=0
OUT=$T/out1 GPU_CHECK_WORK=$T/work1 GPU_CHECK_BUDGET=900 GPU_CHECK_STUB=$T/stub1.sh \
  "$SRC/packaging/gpu-check.sh" >"$T/pass1.log" 2>&1 || rc=$?
cat "$T/out1/summary.md" 2>/dev/null || fail "pass 1 wrote no summary: $(tail -5 "$T/pass1.log")"
[ $rc = 0 ] || fail "pass 1 exited $rc (logs: $(tar -tzf "$T/out1/logs.tar.gz" | tr '\n' ' '))"
check_out "$T/out1"
[ "$(tail -1 "$T/pass1.log")" = "$(tail -1 "$T/out1/summary.md")" ] || fail "pass 1 did not print summary.md last"
for want in "skipped\*\* timm" "imported from the wheel" "C++ standard: 17" "run-fp16: amp off: 16 steps" \
  "resumed after step 10" "data-parallel: 2 processes (gloo" "fp32, batch 8: full .* img/s, pruned" \
  "batch 16, off, explicit attention: training step" "top-1 (%), 200 img" "\*\*ok\*\* cpu_tests"; do
  grep -q "$want" "$T/out1/summary.md" || fail "pass 1 summary lacks '$want'"
done
[ "$(grep -c '^- \*\*ok\*\*' "$T/out1/summary.md")" = 11 ] || fail "pass 1: not 11 stages ok"

echo "gpu-dryrun: pass 2, the runner under faults"
cat >"$T/stub2.sh" <<'EOF'
for s in env configure build measure dist attention; do eval "stage_$s() { fig 'stub'; }"; done
stage_gpu_tests() { sleep 317; }                     # hangs: killed at LIMIT_gpu_tests
stage_train_amp() { echo "no GPU memory left" >&2; return 1; }
stage_bench() { echo "bench went wrong" >&2; return 4; }
stage_resume() { sleep 3; }                          # cpu_tests (150 s at least) is skipped: 100 s in all
stage_timm() { fig "timm not importable"; return 3; }
stage_cpu_tests() { fig "must not run"; }
EOF
t0=$(date +%s)
rc=0
OUT=$T/out2 GPU_CHECK_WORK=$T/work2 GPU_CHECK_BUDGET=100 LIMIT_gpu_tests=2 GPU_CHECK_STUB=$T/stub2.sh \
  "$SRC/packaging/gpu-check.sh" >"$T/pass2.log" 2>&1 || rc=$?
secs=$(($(date +%s) - t0))
cat "$T/out2/summary.md"
[ $rc != 0 ] || fail "pass 2 exited 0 with failed stages"
check_out "$T/out2"
! pgrep -f "sleep 317" >/dev/null || fail "the hung stage's process outlived its time limit"
[ $secs -lt 100 ] || fail "pass 2 took $secs s, more than its 100 s budget"
for want in "TIMEOUT after 2 s\*\* gpu_tests" "FAILED (exit 1)\*\* train_amp" "no GPU memory left" \
  "skipped\*\* measure" "needs the stage 'train_amp'" "FAILED (exit 4)\*\* bench" "bench went wrong" \
  "ok\*\* resume" "skipped\*\* timm" "timm not importable" "skipped\*\* cpu_tests" "left of the 100 s budget" \
  "2 failed, 1 timed out, 3 skipped"; do
  grep -q "$want" "$T/out2/summary.md" || fail "pass 2 summary lacks '$want'"
done
! grep -q "must not run" "$T/out2/summary.md" || fail "cpu_tests ran without the budget for it"
echo "gpu-dryrun: pass 3, interrupted (SIGTERM) in the middle of a stage"
printf '%s\n' "stage_env() { fig 'stub'; }" "stage_configure() { sleep 318; }" >"$T/stub3.sh"
OUT=$T/out3 GPU_CHECK_WORK=$T/work3 GPU_CHECK_STUB=$T/stub3.sh "$SRC/packaging/gpu-check.sh" >"$T/pass3.log" 2>&1 &
pid=$!
for _ in $(seq 50); do pgrep -f "sleep 318" >/dev/null && break; sleep 0.1; done
kill -TERM $pid
rc=0
wait $pid || rc=$?
cat "$T/out3/summary.md"
[ $rc = 130 ] || fail "pass 3 exited $rc, not 130"
sleep 0.5
! pgrep -f "sleep 318" >/dev/null || fail "the interrupted stage's process outlived the check"
grep -q "INTERRUPTED\*\* configure" "$T/out3/summary.md" || fail "pass 3 summary does not name the interrupted stage"
grep -q "^Interrupted after" "$T/out3/summary.md" || fail "pass 3 summary has no last line"
[ "$(ls -A "$T/out3" | sort | tr '\n' ' ')" = "logs.tar.gz summary.md " ] || fail "$T/out3 holds: $(ls -A "$T/out3")"
echo "gpu-dryrun: all passes as expected"
