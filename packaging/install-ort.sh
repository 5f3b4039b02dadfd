#!/usr/bin/env bash
# Installs ONNX Runtime for Node.js (the npm package onnxruntime-node; its CPU library ships inside
# the package) under build/ort, for the tests and the benchmark that run Dilute's ONNX exports
# (tests/onnx/run_ort.js, tests/bench/ort_bench.js). A test tool, never a runtime dependency of
# Dilute. `--ignore-scripts`: the package's install script would try to download GPU binaries.
# Idempotent; needs node and npm (installs Debian's when missing) and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-build/ort}
VERSION=1.31.1
if [ -f "$DIR/node_modules/onnxruntime-node/package.json" ] &&
   grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/onnxruntime-node/package.json"; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
mkdir -p "$DIR"
npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$DIR" "onnxruntime-node@$VERSION" >/dev/null
echo "install-ort: onnxruntime-node $VERSION in $DIR" >&2
