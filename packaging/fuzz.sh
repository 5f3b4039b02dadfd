#!/usr/bin/env bash
# Fuzzes every reader of outside bytes with libFuzzer (clang; the core built with ASan + UBSan):
# safetensors (+ building a model from it), IDX (raw and gz), CIFAR, the JPEG band decoder, and
# the JSON files read back (config.json, analysis.json, checkpoint manifests, metrics lines),
# torch.save files (zip and legacy, the restricted unpickler) and model folders' config.json.
#
#   packaging/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default 600 s, all seven targets)
#
# Each target starts from tests/fuzz/corpus/<target> (committed seeds; regenerate with
# tests/fuzz/make_corpus.py) and grows a working corpus in build-san/corpus/<target>. A crash,
# leak-free abort, timeout (> 20 s per input) or RSS above 2 GB stops it and leaves the input in
# build-san/artifacts/; the script then exits non-zero. FUZZ_JOBS=2 runs two targets at once.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors idx cifar jpeg json torchfile hub)
jobs=${FUZZ_JOBS:-1}

command -v clang++ >/dev/null || { echo "fuzz.sh: needs clang++ (apt-get install clang)" >&2; exit 2; }
cmake -S . -B build-san -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DDILUTE_FUZZ=ON -DDILUTE_SANITIZE=ON -DDILUTE_BUILD_BENCHMARKS=OFF >/dev/null
ninja -C build-san $(printf 'fuzz_%s ' "${targets[@]}")

mkdir -p build-san/artifacts build-san/logs
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
run_one() {
    local t=$1
    mkdir -p build-san/corpus/$t
    if build-san/tests/fuzz/fuzz_$t build-san/corpus/$t tests/fuzz/corpus/$t \
         -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 -max_len=65536 \
         -artifact_prefix=build-san/artifacts/$t- -print_final_stats=1 > build-san/logs/$t.log 2>&1; then
        echo "fuzz_$t: clean for ${secs} s ($(grep -o 'stat::number_of_executed_units: *[0-9]*' build-san/logs/$t.log | grep -o '[0-9]*$') inputs, corpus $(ls build-san/corpus/$t | wc -l) files)"
    else
        echo "fuzz_$t: FAILED, see build-san/logs/$t.log and build-san/artifacts/$t-*"
        return 1
    fi
}
fail=0
pids=()
for t in "${targets[@]}"; do
    run_one "$t" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$jobs" ]; then
        wait "${pids[0]}" || fail=1
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
exit $fail
