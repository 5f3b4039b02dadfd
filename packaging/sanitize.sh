#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (run before a release;
# too slow for CI on 2 cores: about an hour cold, see README "Sanitizers and fuzzing").
#
#   packaging/sanitize.sh [ctest arguments...]
#
# Builds build-san/ with clang (the same instrumented objects packaging/fuzz.sh uses; gcc when
# clang is missing) and runs ctest there. Any ASan report (overflow, use-after-free, double
# free) or UBSan report (overflow, misaligned or invalid values, bad shifts) fails the test that
# hit it. Leak checking is off: LibTorch and Qt keep process-lifetime allocations.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v clang++ >/dev/null; then
    cmake -S . -B build-san -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
          -DDILUTE_FUZZ=ON -DDILUTE_SANITIZE=ON -DDILUTE_BUILD_BENCHMARKS=OFF >/dev/null
else
    cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDILUTE_SANITIZE=ON \
          -DDILUTE_BUILD_BENCHMARKS=OFF >/dev/null
fi
ninja -C build-san
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:detect_odr_violation=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export QT_QPA_PLATFORM=offscreen
cd build-san && ctest --output-on-failure --timeout 3600 -j2 "$@"
