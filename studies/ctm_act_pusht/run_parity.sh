#!/usr/bin/env bash
# run_parity.sh NAME CONFIG [polibench run args...]: start, or resume from its newest checkpoint, one run of the
# parity round in runs/parity/NAME (log: runs/parity/NAME.log), as its own process group so that it can be paused
# (kill -STOP -PGID) or stopped cleanly. The code comes from $POLIBENCH_CODE (default: this checkout), so a long
# run can execute a frozen worktree while the checkout is edited (DEVELOPERS.md, "Editing code beside long runs").
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
code=${POLIBENCH_CODE:-$repo}
name=$1 config=$2
shift 2
out="$repo/runs/parity/$name"
mkdir -p "$repo/runs/parity"
resume=()
[ -f "$out/config.gin" ] && resume=(--resume)
cd "$code"
export PYTHONPATH="$code" OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg SDL_VIDEODRIVER=dummy
exec setsid "$repo/.venv/bin/python" -m polibench.cli run "$config" "$@" --out "$out" "${resume[@]}" --no-progress \
  >> "$out.log" 2>&1
