"""`polibench reevaluate`: trained runs evaluated again under one protocol, gathered as a sweep, one variant a call.

    OUT/
      sweep.json                      the protocol (EvalConfig overrides) and, per variant, its source runs, its
                                      inference bindings and the command that added it
      variants/<variant>/seed<k>/     one run-like directory per source run: config.gin and run.json copied,
                                      source_run.json, eval/ (as `polibench eval` writes it)
      results.json, .csv, .md, .png   as `polibench ablate` writes them, over every variant added so far

Why: comparing two budgets on the same episodes needs the earlier budget's runs evaluated under the later
protocol (500 episodes from seed 100000, say) without retraining them, and the runs of one policy may come from
different sweeps. Each call adds one variant (``--variant act --runs runs/precision_act/variants/bf16``); every
call on one OUT must give the same protocol, so one table never mixes two. Weights stay in the source runs.
Rerunning a call skips its finished evaluations.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from polibench.console import console
from polibench.io import read_json, write_json
from polibench.rundir import RunDir, RunDirError, held
from polibench.sweep.ablate import SWEEP_FILE, _portable
from polibench.sweep.aggregate import aggregate, rich_table, write_results
from polibench.sweep.axes import variant_name
from polibench.sweep.inference import evaluate_copy

#: EvalConfig fields a call may set; the rest come from each source run's saved config.
PROTOCOL_FIELDS = ("episodes", "seed0", "n_envs", "max_steps")


@dataclass(frozen=True)
class ReevalSpec:
    """One variant to add to ``out``: its source runs, the protocol and inference-time bindings."""

    variant: str
    runs: list[Path]
    out: Path
    protocol: dict[str, int]
    gin_params: list[str] = field(default_factory=list)
    device: str = "auto"

    def __post_init__(self) -> None:
        if variant_name(self.variant) != self.variant:
            raise RunDirError(f"--variant {self.variant!r} is not a directory-safe name; "
                              f"try {variant_name(self.variant)!r}")
        unknown = sorted(set(self.protocol) - set(PROTOCOL_FIELDS))
        if unknown:
            raise RunDirError(f"unknown protocol field(s) {unknown}; known: {', '.join(PROTOCOL_FIELDS)}")

    def command(self) -> str:
        """The equivalent command line, recorded in sweep.json."""
        args = ["polibench", "reevaluate", "--variant", self.variant]
        for run in self.runs:
            args += ["--runs", _portable(str(run))]
        args += ["--out", str(self.out)]
        for key, value in self.protocol.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        for binding in self.gin_params:
            args += ["--gin_param", binding]
        return shlex.join(args)


def source_runs(paths: Sequence[Path]) -> list[tuple[Path, int]]:
    """Each trained run behind ``--runs`` with its training seed: a run directory, or a directory of seed runs
    (a sweep's ``variants/<name>``). Runs without weights or with clashing seeds fail before any evaluation."""
    runs: list[Path] = []
    for path in map(Path, paths):
        if RunDir(path).config_path.exists():
            runs.append(path)
        elif seeds := sorted(p for p in path.glob("seed*") if RunDir(p).config_path.exists()):
            runs += seeds
        else:
            raise RunDirError(f"{path} is neither a run directory (config.gin) nor a directory of seed runs "
                              "(seed*/config.gin, as a sweep's variants/<name>)")
    found = [(run, int(RunDir(run).read_run_info().get("seed", 0))) for run in runs]
    for run, _ in found:
        if not RunDir(run).model_path.exists():
            raise RunDirError(f"{run} has no trained weights ({RunDir(run).model_path.name}); finish or regenerate its "
                              "training first")
    seeds = [seed for _, seed in found]
    if len(set(seeds)) != len(seeds):
        raise RunDirError(f"the runs of one variant must have distinct training seeds, got {seeds} from "
                          f"{', '.join(str(r) for r, _ in found)}")
    return found


def reevaluate_sweep(spec: ReevalSpec, progress: bool = True) -> dict[str, Any]:
    """Evaluate the variant's source runs under the protocol (skipping finished ones); write the results."""
    sources = source_runs(spec.runs)
    with held(spec.out, "sweep directory"):
        variants = _record(spec, sources)
        for i, (run, seed) in enumerate(sources, 1):
            target = spec.out / "variants" / spec.variant / f"seed{seed}"
            if not RunDir(target).evaluated():
                console.print(f"reevaluate {spec.variant}: {run} ({i}/{len(sources)})", soft_wrap=True)
                evaluate_copy(run, target, spec.protocol, spec.gin_params, spec.device,
                              {"run_dir": _portable(str(run)), "gin_params": spec.gin_params}, progress)
        runs = {name: [spec.out / r for r in v["runs"]] for name, v in variants.items()}
        unfinished = [str(r) for dirs in runs.values() for r in dirs if not RunDir(r).evaluated()]
        if unfinished:
            raise RunDirError(f"{spec.out} has unfinished evaluations ({', '.join(unfinished)}); rerun the commands "
                              f"recorded in {spec.out / SWEEP_FILE}")
        seeds = sorted({RunDir(r).read_run_info().get("seed", 0) for dirs in runs.values() for r in dirs})
        header = {"axis": "reevaluate", "target": "trained runs under one evaluation protocol", "seeds": seeds,
                  "base": "each variant's source runs (sweep.json)", "protocol": spec.protocol, "inference_only": True}
        results = aggregate(header, runs, spec.out)
        write_results(results, spec.out)
    console.print(rich_table(results))
    return results


def _record(spec: ReevalSpec, sources: Sequence[tuple[Path, int]]) -> dict[str, Any]:
    """Add the variant to sweep.json and return every recorded variant; refuse another protocol, or a recorded
    variant with other sources or bindings."""
    path = spec.out / SWEEP_FILE
    recorded = read_json(path) if path.exists() else {"axis": "reevaluate", "protocol": spec.protocol, "variants": {}}
    if recorded.get("axis") != "reevaluate":
        raise RunDirError(f"{spec.out} holds a sweep of another kind ({recorded.get('command')!r}); "
                          "choose another --out")
    if recorded["protocol"] != spec.protocol:
        raise RunDirError(f"{spec.out} was evaluated with protocol {recorded['protocol']}, not {spec.protocol}; give "
                          "the same --episodes/--seed0/--n-envs/--max-steps or choose another --out")
    now = {"source_runs": [_portable(str(r)) for r, _ in sources], "gin_params": list(spec.gin_params),
           "runs": [f"variants/{spec.variant}/seed{seed}" for _, seed in sources], "command": spec.command()}
    before = recorded["variants"].get(spec.variant)
    identity = ("source_runs", "gin_params")
    if before and {k: before[k] for k in identity} != {k: now[k] for k in identity}:
        raise RunDirError(f"{spec.out} holds variant {spec.variant!r} from other runs or bindings (recorded: "
                          f"{before['command']!r}); rerun that command or choose another --variant")
    recorded["variants"][spec.variant] = now
    write_json(path, recorded)
    return recorded["variants"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", required=True, help="the name these runs get in OUT's table, e.g. act")
    parser.add_argument("--runs", action="append", required=True,
                        help="a run directory, or a directory of seed runs (SWEEP/variants/<name>); repeatable")
    parser.add_argument("--out", required=True, help="sweep directory to write or add to; rerunning resumes it")
    parser.add_argument("--episodes", type=int, help="evaluation episodes (default: each run's saved protocol)")
    parser.add_argument("--seed0", type=int, help="first evaluation seed")
    parser.add_argument("--n-envs", type=int, help="environments stepped together")
    parser.add_argument("--max-steps", type=int, help="episode length limit")
    parser.add_argument("--gin_param", "--gin-param", action="append", default=[],
                        help="inference-time binding for these runs, e.g. 'halting.variance.enabled = False'")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")


def main(args: argparse.Namespace) -> int:
    protocol = {k: getattr(args, k) for k in PROTOCOL_FIELDS if getattr(args, k) is not None}
    spec = ReevalSpec(args.variant, [Path(r) for r in args.runs], Path(args.out), protocol, list(args.gin_param),
                      args.device)
    reevaluate_sweep(spec, progress=not args.no_progress)
    console.print(f"[green]sweep directory: {spec.out}")
    return 0
