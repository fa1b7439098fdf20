#!/usr/bin/env bash
# adopt_run.sh SRC DEST: count a finished run as a seed of the parity headline without training it again.
# Copies run directory SRC (a screen's run, trained with a headline variant's configuration) to DEST without its
# checkpoints. If SRC's evaluation is on the check seeds, it is kept as DEST/eval_check100 and DEST/eval is
# written anew on the 500 benchmark episodes (seeds 100000-100499, 50 environments), the headline's protocol; an
# evaluation already on the benchmark episodes is kept as it is. Until that evaluation is written, DEST has no
# eval/ and a sweep gathers it as missing; running the same command again finishes it.
set -euo pipefail
src=$1 dest=$2
if [ ! -e "$dest" ]; then
  [ -f "$src/eval/metrics.json" ] && [ -f "$src/model.safetensors" ] || {
    echo "adopt_run.sh: $src is not a finished run with its weights (eval/metrics.json, model.safetensors)" >&2
    exit 2; }
  first=$(python3 -c "import json,sys; print(min(json.load(open(sys.argv[1]))['config']['seeds']))" \
    "$src/eval/metrics.json")
  mkdir -p "$(dirname "$dest")"
  mkdir "$dest"
  tar -C "$src" --exclude=./checkpoints -cf - . | tar -C "$dest" -xf -
  [ "$first" -ge 200000 ] && mv "$dest/eval" "$dest/eval_check100"
fi
if [ -f "$dest/eval/metrics.json" ]; then
  echo "$dest: adopted, evaluated on seeds from $(python3 -c "import json,sys; print(min(json.load(open(sys.argv[1]))['config']['seeds']))" "$dest/eval/metrics.json")"
  exit 0
fi
polibench eval "$dest" --episodes 500 --seed0 100000 --n-envs 50 --out "$dest/eval" --no-progress
