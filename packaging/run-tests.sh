#!/usr/bin/env bash
# One command: install what is missing, build, and run every test (no display needed).
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-deps.sh --tests
packaging/format.sh --check          # the house style (.clang-format)
packaging/build.sh
packaging/install-ort.sh build/ort  # ONNX Runtime for the export tests (a test tool, from npm)
export QT_QPA_PLATFORM=offscreen
cd build && ctest --output-on-failure --timeout 900 -j2 "$@"
