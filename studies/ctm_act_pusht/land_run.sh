#!/usr/bin/env bash
# land_run.sh NAME DEST: move the finished run runs/parity/NAME (trained by run_parity.sh) to DEST, its place in a
# sweep (e.g. results/cpu/parity_screens/variants/screen_ctm_carry/seed0), without its checkpoints. The weights
# (model.safetensors, untracked) move with it, so adopt_run.sh, verdicts and viz can still read them this session.
# Refuses an unfinished run (no eval/metrics.json) and an existing DEST, so nothing is overwritten or half-moved.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -eq 2 ] || { echo "usage: land_run.sh NAME DEST" >&2; exit 2; }
src="$repo/runs/parity/$1" dest=$2
[ -f "$src/eval/metrics.json" ] && [ -f "$src/model.safetensors" ] || {
  echo "land_run.sh: $src has not finished (no eval/metrics.json or model.safetensors); resume it with run_parity.sh" >&2
  exit 2; }
[ ! -e "$dest" ] || { echo "land_run.sh: $dest exists; move it away first if it is to be replaced" >&2; exit 2; }
mkdir -p "$(dirname "$dest")"
rm -rf "$src/checkpoints"
mv "$src" "$dest"
echo "$dest: landed ($(du -sh "$dest" | cut -f1), the log stays at runs/parity/$1.log)"
