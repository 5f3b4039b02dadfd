#!/usr/bin/env bash
# Installs every Debian 12 package Dilute needs to build, test and run. Idempotent; silent when
# everything is already there. Run as root or with sudo available.
#   packaging/install-deps.sh           what the build and the demo need
#   packaging/install-deps.sh --tests   and the test tools (valgrind, clang-format)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread            # LibTorch 1.13 (CPU) + a fast BLAS (the reference BLAS is ~40x slower)
  qt6-base-dev libqcustomplot-dev              # the workbench (QCustomPlot links as QCustomPlotQt6)
  libopencv-dev libjpeg62-turbo-dev libgtest-dev nlohmann-json3-dev libcli11-dev zlib1g-dev
  libgloo-dev                                  # c10d ProcessGroupGloo headers (data-parallel training)
  libonnx-dev                                  # ONNX export: ONNX's protobuf classes and checker (LibTorch links libonnx already)
  dataset-fashion-mnist                        # the embedded default dataset
  xvfb xauth                                   # headless GUI tests and screenshots
  python3-pil python-matplotlib-data           # tests: the eval transform against Pillow on a real photograph
  python3-onnx                                 # tests: ONNX's Python checker on the exports
)
if [ "${1:-}" = "--tests" ]; then
  PACKAGES+=(valgrind clang-format)            # tests: the widget memcheck tests, the formatting check
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Make sure OpenBLAS (not the reference BLAS) serves libblas.so.3.
if [ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ]; then
  $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 >/dev/null 2>&1 || true
fi
