"""`polibench ablate`: every variant of an axis trained and evaluated with the same budget, data and seeds.

    SWEEP/
      sweep.json                      the command, the axis, and each variant's gin files and bindings
      variants/<variant>/seed<k>/     one run directory per variant and training seed (layout: polibench.rundir)
      results.json, results.csv       per variant and metric: pooled mean, 95% interval, seed means, tie marks
      results.md, results.png         the table and the bar chart with error bars

Running the same command again resumes: finished runs (evaluation written) are skipped, started ones continue
from their checkpoint. A sweep directory refuses a variant whose bindings differ from the ones it was started with,
so one table never mixes two budgets. ``finished_only`` trains nothing and gathers the runs finished so far, for a
sweep that spans sessions; its results say they are partial (``missing`` lists the runs still to come).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from polibench.config import portable_config_name
from polibench.console import console
from polibench.io import read_json, write_json
from polibench.rundir import RunDir, RunDirError, held
from polibench.sweep.aggregate import aggregate, rich_table, write_results
from polibench.sweep.axes import Axis, Variant, load_base, resolve
from polibench.sweep.executors import Executor, Task, make_task

SWEEP_FILE = "sweep.json"


@dataclass(frozen=True)
class SweepSpec:
    """What to sweep; every field but ``out`` decides the numbers."""

    axis: str
    values: list[str] | None
    base: Path
    seeds: int
    gin_params: list[str]
    out: Path
    include: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {self.seeds}")

    def command(self) -> str:
        """The equivalent command line, recorded in sweep.json."""
        args = ["polibench", "ablate", "--axis", self.axis, "--base", str(self.base), "--seeds", str(self.seeds),
                "--out", str(self.out)]
        args += ["--values", ",".join(self.values)] if self.values else []
        for gin_file in self.include:
            args += ["--include", _portable(str(gin_file))]
        for binding in self.gin_params:
            args += ["--gin_param", binding]
        return shlex.join(args)


@dataclass(frozen=True)
class Run:
    """One training seed of one variant."""

    variant: Variant
    seed: int
    path: Path

    @property
    def label(self) -> str:
        return f"{self.variant.name}/seed{self.seed}"

    @property
    def finished(self) -> bool:
        return RunDir(self.path).evaluated()

    def bindings(self, sweep_params: Sequence[str]) -> list[str]:
        """Sweep-wide bindings, then the variant's, then the seed: later bindings win in gin."""
        return [*sweep_params, *self.variant.gin_params, f"polibench.Experiment.seed = {self.seed}"]

    def task(self, sweep_params: Sequence[str]) -> Task:
        return make_task(self.variant.gin_files, self.bindings(sweep_params), self.path,
                         resume=RunDir(self.path).config_path.exists())


def ablate(spec: SweepSpec, executor: Executor, progress: bool = True, finished_only: bool = False) -> dict[str, Any]:
    """Resolve the axis, run every unfinished run on ``executor`` (none with ``finished_only``), and write and print
    the results."""
    axis = resolve(spec.axis, spec.values, load_base([spec.base], spec.gin_params, spec.include))
    with held(spec.out, "sweep directory"):  # each run slot is locked by its own run as well
        return _ablate(spec, axis, executor, progress, finished_only)


def _ablate(spec: SweepSpec, axis: Axis, executor: Executor, progress: bool, finished_only: bool) -> dict[str, Any]:
    seeds = list(range(spec.seeds))
    runs = [Run(v, k, spec.out / "variants" / v.name / f"seed{k}") for v in axis.variants for k in seeds]
    _record(spec, axis, seeds)
    missing = [r for r in runs if not r.finished] if finished_only else []
    if missing and len(missing) == len(runs):
        raise RunDirError(f"{spec.out} has no finished run yet: nothing to gather. Run the command without "
                          "--finished-only to train them.")
    runs = [r for r in runs if r not in missing]
    todo = [r for r in runs if not r.finished]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not progress) as bar:
        job = bar.add_task(f"ablate {axis.name}", total=len(runs), completed=len(runs) - len(todo))
        for i, _ in executor.map([r.task(spec.gin_params) for r in todo]):
            bar.update(job, advance=1, description=f"ablate {axis.name}: {todo[i].label} done")
    header = {"axis": axis.name, "target": axis.target, "seeds": seeds, "gin_params": spec.gin_params,
              **({"include": [_portable(str(f)) for f in spec.include]} if spec.include else {}),
              **({"missing": [r.label for r in missing]} if missing else {}),
              "base": "each policy's own config" if axis.name == "policy" else str(spec.base)}
    gathered = {v.name: [r.path for r in runs if r.variant == v] for v in axis.variants}
    results = aggregate(header, {name: paths for name, paths in gathered.items() if paths}, spec.out)
    write_results(results, spec.out)
    console.print(rich_table(results))
    return results


def _record(spec: SweepSpec, axis: Axis, seeds: list[int]) -> None:
    """Write sweep.json, keeping variants recorded earlier; refuse a variant recorded with other bindings."""
    path = spec.out / SWEEP_FILE
    recorded = read_json(path)["variants"] if path.exists() else {}
    variants = {v.name: {"gin_files": [_portable(f) for f in v.gin_files],
                         "gin_params": [*spec.gin_params, *v.gin_params]}
                for v in axis.variants}
    for name, now in variants.items():
        if name in recorded and recorded[name] != now:
            raise RunDirError(
                f"{spec.out} holds variant {name!r} run with other gin files or bindings "
                f"({recorded[name]} vs now {now}); rerun the command recorded in {path} or choose another --out"
            )
    write_json(path, {"command": spec.command(), "axis": axis.name, "target": axis.target, "seeds": seeds,
                      "variants": {**recorded, **variants}})


def _portable(gin_file: str) -> str:
    """A gin file as recorded in sweep.json (:func:`~polibench.config.portable_config_name`, relative to the working
    directory)."""
    return portable_config_name(gin_file, Path.cwd().resolve())
