#!/usr/bin/env bash
# Renders each workbench view with real data (a demo run), and empty, to PNG under Xvfb:
#   packaging/screenshots.sh [DEMO_DIR] [OUT_DIR] [STUDY_DIR]
# DEMO_DIR defaults to runs/demo (made by `dilute demo`, run first if missing); STUDY_DIR (a
# `dilute study` folder) fills the Study view when given.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=${1:-runs/demo}
OUT=${2:-resources/screenshots}
STUDY_ARGS=()
[ -n "${3:-}" ] && STUDY_ARGS=(--study "$3")
[ -f "$DEMO/nose/final.safetensors" ] || build/app/dilute demo --quick -o "$DEMO"
mkdir -p "$OUT"
xvfb-run -a -s "-screen 0 1366x768x24" build/app/dilute-workbench \
  --model "$DEMO/baseline/final.safetensors" --analysis "$DEMO/analysis" --open "$DEMO/nose" \
  --export-report "$DEMO/nose" --inspect "$DEMO/pruned.safetensors" "${STUDY_ARGS[@]}" --screenshots "$OUT"
# The same views empty (a fresh workbench, no run): what a new user sees first.
EMPTY=$(mktemp -d)
HOME=$EMPTY xvfb-run -a -s "-screen 0 1366x768x24" build/app/dilute-workbench --screenshots "$EMPTY/shots"
for f in "$EMPTY"/shots/*.png; do cp "$f" "$OUT/$(basename "$f" .png)-empty.png"; done
rm -rf "$EMPTY"
ls -l "$OUT"
