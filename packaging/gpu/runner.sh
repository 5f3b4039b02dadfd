# shellcheck shell=bash
# The stage runner of packaging/gpu-check.sh (sourced; bash). Each stage is a shell function
# stage_NAME run in its own process group under `timeout`, so a hung stage is killed with every
# process it started; it gets min(its limit, what is left of the check's budget) seconds and is
# skipped when fewer than its minimum remain or a stage it needs did not pass. The moment a stage
# ends, summary.md gets its line (result, seconds, the figures it wrote with `fig`) and the logs
# are tarred again, so $OUT holds a complete summary.md and logs.tar.gz after every stage.
#
# Variables (exported: set -a): OUT, WORK, BUDGET (s), GC_T0 (start, s since the epoch).
# $OUT receives summary.md and logs.tar.gz only; everything else stays in $WORK.

GC_RESERVE=8      # seconds kept back for the last summary and tarball
GC_LOG_CAP=4194304  # a log larger than this goes into the tarball as its first and last 2 MiB
GC_PASSED=" "
GC_COUNTS=""

gc_now() { date +%s; }
gc_elapsed() { echo $(($(gc_now) - GC_T0)); }
gc_left() { echo $((BUDGET - $(gc_elapsed))); }

# A figure of the running stage: into its log and into summary.md under its line.
fig() {
  echo "$*"
  echo "$*" >>"$FIG"
}

# Copies summary.md into $OUT (temp + rename: a reader never sees half a file).
gc_publish() {
  cp "$WORK/summary.md" "$OUT/.summary.md.tmp" && mv -f "$OUT/.summary.md.tmp" "$OUT/summary.md"
}

# Tars $WORK/logs into $OUT/logs.tar.gz (temp + rename), each log capped at GC_LOG_CAP bytes.
gc_pack() {
  local f pack="$WORK/.pack"
  rm -rf "$pack" && mkdir -p "$pack/logs"
  for f in "$WORK"/logs/*; do
    [ -f "$f" ] || continue
    if [ "$(stat -c %s "$f")" -gt "$GC_LOG_CAP" ]; then
      { head -c 2097152 "$f"; printf '\n[... cut: %s bytes in all ...]\n' "$(stat -c %s "$f")"; tail -c 2097152 "$f"; } \
        >"$pack/logs/$(basename "$f")"
    else
      cp "$f" "$pack/logs/"
    fi
  done
  cp "$WORK/summary.md" "$pack/logs/summary.md"
  tar -czf "$OUT/.logs.tar.gz.tmp" -C "$pack" logs && mv -f "$OUT/.logs.tar.gz.tmp" "$OUT/logs.tar.gz"
  rm -rf "$pack"
}

# One summary line, the stage's figures under it, then publish.
gc_line() {
  local name=$1 result=$2 secs=$3 figures=$4
  {
    echo "- **$result** $name ($secs s)"
    [ -s "$figures" ] && sed 's/^/  - /' "$figures"
  } >>"$WORK/summary.md"
  GC_COUNTS="$GC_COUNTS ${result%% *}"
  gc_publish
  gc_pack
  echo "== $name: $result ($secs s; $(gc_elapsed) s of $BUDGET)"
}

# gc_stage NAME LIMIT MIN [NEEDED_STAGE ...]. LIMIT_<NAME> in the environment overrides LIMIT.
gc_stage() {
  local name=$1 limit=$2 min=$3 need left start rc result figs="$WORK/figures/$1"
  shift 3
  local override="LIMIT_$name"
  [[ "${!override:-}" =~ ^[1-9][0-9]*$ ]] && limit=${!override}  # seconds; anything else is ignored
  : >"$figs"
  for need in "$@"; do
    if [[ "$GC_PASSED" != *" $need "* ]]; then
      echo "needs the stage '$need', which did not pass" >"$figs"
      gc_line "$name" skipped 0 "$figs"
      return 0
    fi
  done
  left=$(($(gc_left) - GC_RESERVE))
  if [ "$left" -lt "$min" ]; then
    echo "$left s left of the $BUDGET s budget; it needs at least $min s" >"$figs"
    gc_line "$name" skipped 0 "$figs"
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  start=$(gc_now)
  # In the background, so a signal to the check reaches gc_interrupted at once; timeout leads its
  # own process group (its pid), which gc_interrupted kills whole.
  FIG="$figs" timeout -k 5 "$limit" bash -c "[ -f '$WORK/env.sh' ] && . '$WORK/env.sh'; stage_$name" \
    >"$WORK/logs/$name.log" 2>&1 </dev/null &
  GC_STAGE_PID=$! GC_STAGE=$name GC_STAGE_START=$start
  wait "$GC_STAGE_PID"
  rc=$?
  GC_STAGE_PID=""
  case $rc in
    0) result=ok GC_PASSED="$GC_PASSED$name " ;;
    3) result=skipped ;;  # the stage found nothing to do here (its figures say why)
    124 | 137) result="TIMEOUT after $limit s" ;;
    *) result="FAILED (exit $rc)" ;;
  esac
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
    echo "log: logs/$name.log, last lines:" >>"$figs"
    grep -av '^\s*$' "$WORK/logs/$name.log" | tail -n 4 | cut -c1-300 | sed 's/^/    /' >>"$figs"
  fi
  gc_line "$name" "$result" $(($(gc_now) - start)) "$figs"
}

# SIGINT / SIGTERM (Ctrl-C, the device tool's time limit): the running stage is killed with
# everything it started, summary.md says so and is published, and the check exits 130.
gc_interrupted() {
  trap - INT TERM
  [ -n "${GC_STAGE_PID:-}" ] && kill -TERM -- "-$GC_STAGE_PID" 2>/dev/null
  echo "- **INTERRUPTED** ${GC_STAGE:-between stages} ($(($(gc_now) - ${GC_STAGE_START:-$(gc_now)})) s)" \
    >>"$WORK/summary.md"
  printf '\nInterrupted after %s s of a %s s budget.\n' "$(gc_elapsed)" "$BUDGET" >>"$WORK/summary.md"
  gc_publish
  gc_pack
  cat "$WORK/summary.md"
  exit 130
}

# The last line: counts and total time; prints summary.md (so the figures come back even if $OUT
# does not).
gc_finish() {
  local c ok=0 failed=0 timeout=0 skipped=0
  for c in $GC_COUNTS; do
    case $c in
      ok) ok=$((ok + 1)) ;;
      FAILED) failed=$((failed + 1)) ;;
      TIMEOUT) timeout=$((timeout + 1)) ;;
      skipped) skipped=$((skipped + 1)) ;;
    esac
  done
  printf '\nTotal %s s of a %s s budget: %s ok, %s failed, %s timed out, %s skipped.\n' \
    "$(gc_elapsed)" "$BUDGET" "$ok" "$failed" "$timeout" "$skipped" >>"$WORK/summary.md"
  gc_publish
  gc_pack
  echo
  cat "$WORK/summary.md"
  [ "$failed" -eq 0 ] && [ "$timeout" -eq 0 ]
}
