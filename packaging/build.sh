#!/usr/bin/env bash
# Configures and builds Dilute into build/ (Release, Ninja, ccache when present). Arguments go to
# CMake's configure step; DILUTE_BUILD_TARGETS=product builds only the CLI and the workbench
# (run-demo.sh), otherwise everything (tests, benchmarks, fuzzers: run-tests.sh and CI).
set -euo pipefail
cd "$(dirname "$0")/.."
"$PWD/packaging/install-deps.sh"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
# shellcheck disable=SC2086  # the target list splits on spaces
cmake --build build ${DILUTE_BUILD_TARGETS:+--target $DILUTE_BUILD_TARGETS}
