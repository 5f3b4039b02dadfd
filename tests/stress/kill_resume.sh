#!/usr/bin/env bash
# kill -9 at random moments through whole short dilution runs (start, mid-epoch, checkpoint
# writes, evaluation, the final write), resuming after each kill (and killing the resumes too),
# until every run finishes. Then each run must match an uninterrupted one: the same step losses
# (to 1e-5, the tolerance of Crash.KillDuringAnyCheckpointWriteLeavesAResumableRun) and the same
# final top-1; and after every kill the folder must open (`dilute info` on a run that has
# weights) and resume. A stress script, not a unit test: a few minutes per 10 runs.
#   tests/stress/kill_resume.sh [RUNS] [SEED]      (DILUTE_CLI: the binary; default build/app/dilute)
set -euo pipefail
cd "$(dirname "$0")/../.."
CLI=${DILUTE_CLI:-$PWD/build/app/dilute}
RUNS=${1:-10}
RANDOM=${2:-1}
T=$(mktemp -d /tmp/dilute-kill-stress.XXXXXX)
trap 'rm -rf "$T"' EXIT
TRAIN=(train -m vit_nano_patch7_28 --epochs 2 --train-limit 640 --test-limit 256 --batch 64 --select 2
       --workers 1 --threads 2 --decay-end 1)

start=$(date +%s.%N)
"$CLI" "${TRAIN[@]}" -o "$T/ref" >/dev/null 2>&1
ref_s=$(python3 -c "import time; print(max(1.0, time.time() - $start))")
echo "kill_resume: the uninterrupted run takes ${ref_s} s; $RUNS runs killed at random moments"

# Runs a command, kills it with SIGKILL after a random share of the reference time; returns 0
# when it finished by itself, 1 when it was killed.
run_or_kill() {
    local delay
    delay=$(python3 -c "import random; random.seed($RANDOM); print(round(random.uniform(0.05, $ref_s * 1.1), 2))")
    "$@" >>"$T/log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 $(python3 -c "print(int($delay / 0.05) + 1)")); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 1
    fi
    wait "$pid"
}

fail=0 kills=0
for i in $(seq 1 "$RUNS"); do
    d="$T/run-$i"
    if run_or_kill "$CLI" "${TRAIN[@]}" -o "$d"; then finished=1; else finished=0; kills=$((kills + 1)); fi
    tries=0
    while [ "$finished" = 0 ]; do
        tries=$((tries + 1))
        if [ -f "$d/checkpoints/last.json" ] && ! "$CLI" info -m "$d" >/dev/null 2>>"$T/log"; then
            echo "kill_resume: run $i: 'dilute info' refuses the folder after a kill: $(tail -1 "$T/log")" >&2
            fail=$((fail + 1))
            break
        fi
        if [ ! -f "$d/config.json" ]; then
            cmd=("$CLI" "${TRAIN[@]}" -o "$d" --overwrite)  # killed before it wrote its options: start again
        else
            cmd=("$CLI" train --resume "$d")
        fi
        if [ "$tries" -ge 4 ]; then  # enough kills for this run: let it finish
            "${cmd[@]}" >>"$T/log" 2>&1 && finished=1 || { echo "kill_resume: run $i: ${cmd[*]} failed" >&2; fail=$((fail + 1)); break; }
        elif run_or_kill "${cmd[@]}"; then
            finished=1
        else
            kills=$((kills + 1))
        fi
    done
    [ "$finished" = 1 ] || continue
    if ! python3 - "$T/ref" "$d" <<'PY'
import json, sys
def events(run):
    steps, top1 = [], []
    for line in open(run + "/metrics.jsonl"):
        j = json.loads(line)
        if j.get("event") == "step": steps.append(j["loss"])
        if j.get("event") == "epoch": top1.append(j["test_top1"])
    return steps, top1
(ws, wt), (gs, gt) = events(sys.argv[1]), events(sys.argv[2])
assert len(gs) == len(ws), f"{len(gs)} steps logged, {len(ws)} expected"
for k, (a, b) in enumerate(zip(gs, ws)):
    assert abs(a - b) <= 1e-5 * max(1.0, abs(b)), f"step {k}: loss {a} != {b}"
assert len(gt) == len(wt) and abs(gt[-1] - wt[-1]) < 1e-9, f"top-1 {gt} != {wt}"
PY
    then
        echo "kill_resume: run $i differs from the uninterrupted run" >&2
        fail=$((fail + 1))
    fi
    "$CLI" info -m "$d" >/dev/null 2>>"$T/log" ||
        { echo "kill_resume: run $i: info refuses the finished run: $(tail -1 "$T/log")" >&2; fail=$((fail + 1)); }
    "$CLI" export "$d" -o "$d/pruned.safetensors" >/dev/null 2>>"$T/log" ||
        { echo "kill_resume: run $i: export refuses the finished run: $(tail -1 "$T/log")" >&2; fail=$((fail + 1)); }
done
echo "kill_resume: $RUNS runs, $kills kills, $fail failures"
[ "$fail" = 0 ]
