#!/usr/bin/env bash
# One command: install what is missing, build, and run the main job (dilute demo) on Fashion-MNIST.
# Extra arguments go to `dilute demo` (e.g. --quick, --compare random).
set -euo pipefail
cd "$(dirname "$0")/.."
# Only what the demo and the workbench need (the `product` target); tests, benchmarks and
# fuzzers are run-tests.sh's.
DILUTE_BUILD_TARGETS=product packaging/build.sh
exec build/app/dilute demo "$@"
