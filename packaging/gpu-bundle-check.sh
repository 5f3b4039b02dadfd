#!/usr/bin/env bash
# Proves on this machine that LibTorch plus the bundle (packaging/gpu-bundle.sh) suffice for the
# GPU machine's build (packaging/gpu-dryrun.sh dry-runs packaging/gpu-check.sh's stages).
# Configures as gpu-check.sh does, against Debian's LibTorch, with the system's nlohmann-json,
# CLI11, GoogleTest, OpenCV, libjpeg and Qt hidden from CMake; builds the CLI, the core and gpu tests and the step benchmark; runs the tests
# (labels unit + gpu: the CUDA ones skip here, saying why) and one CLI training on the bundle's
# Fashion-MNIST subset. About 25 minutes on 2 cores from a cold ccache.
#   packaging/gpu-bundle-check.sh [BUILD_DIR=build-dry]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-dry}
[ -d .gpu-bundle/usr/include/nlohmann ] || packaging/gpu-bundle.sh
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDILUTE_BUILD_GUI=OFF -DDILUTE_WITH_OPENCV=OFF \
  -DDILUTE_BUNDLE="$PWD/.gpu-bundle" \
  -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON -DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON -DCMAKE_DISABLE_FIND_PACKAGE_OpenCV=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_JPEG=ON -DCMAKE_DISABLE_FIND_PACKAGE_Qt6=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_QCustomPlotQt6=ON >"$BUILD.configure.log" 2>&1 \
  || { cat "$BUILD.configure.log"; exit 1; }
grep -E "bundle|GoogleTest|ZLIB|Torch" "$BUILD.configure.log" || true
# Nothing may come from the hidden packages.
if grep -qE "opencv|nlohmann_json_DIR:PATH=/usr|CLI11_DIR:PATH=/usr|GTest_DIR:PATH=/usr" "$BUILD/CMakeCache.txt"; then
  grep -E "opencv|nlohmann_json_DIR|CLI11_DIR|GTest_DIR" "$BUILD/CMakeCache.txt" | head
  echo "gpu-bundle-check: a hidden system package was used" >&2
  exit 1
fi
cmake --build "$BUILD" -j"$(nproc)" --target dilute dilute_core_tests dilute_gpu_tests bench_step
export DILUTE_FASHION_MNIST_DIR="$PWD/.gpu-bundle/fashion-mnist"
(cd "$BUILD" && ctest -L 'unit|gpu' -j"$(nproc)" --timeout 600 --output-on-failure)
RUN=$(mktemp -d)
"$BUILD/app/dilute" train -m vit_nano_patch7_28 --epochs 1 --train-limit 2048 --test-limit 500 -s 0,2 -o "$RUN/run"
msg=$("$BUILD/app/dilute" train -m vit_nano_patch7_28 --data folder:/tmp -o "$RUN/folder" 2>&1 || true)
grep -q "need a build with OpenCV" <<<"$msg" || { echo "gpu-bundle-check: unexpected: $msg" >&2; exit 1; }
echo "gpu-bundle-check: a folder dataset is refused clearly: $(grep "need a build with OpenCV" <<<"$msg")"
"$BUILD/tests/bench/bench_step" vit_nano_patch7_28 64 cpu off 5
rm -rf "$RUN"
echo "gpu-bundle-check: the bundle suffices (core + CLI + tests built and passed without the hidden packages)"
