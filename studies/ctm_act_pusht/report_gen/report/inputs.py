"""What a report is built from: sweep directories and run directories, read and checked up front.

A sweep directory has sweep.json (written when `polibench ablate` starts) and results.json (written once every
run finished). A sweep whose every variant is a reference implementation (policy ``lerobot_<ours>``) is a baseline
check when there is a headline. A sweep over whole policy configs (``polibench ablate --axis policy``, or the same
runs under another protocol by ``polibench reevaluate``) that compares at least two different policies is a
headline comparison: the one at the largest training budget is *the* headline, the others are the same comparison
at other budgets. Every other sweep is an ablation (a policy sweep of one policy, such as ACT against a
capacity-matched ACT, is one).
A run directory has config.gin and eval/metrics.json. Every budget fact the report prints is read here from the
runs' own directories, never assumed: the facts run.json records when a run is made (policy, ticks, steps, batch,
learning rate), and for runs older than that record the same facts read from config.gin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from polibench.io import read_json
from polibench.rundir import RunDir
from polibench.summary import run_policy

#: Policies that wrap another library's implementation of one of ours: ``lerobot_act`` is checked against ``act``.
REFERENCE_PREFIX = "lerobot_"


class ReportError(ValueError):
    """Bad report input or a failed build, with what to do about it (a ValueError: the CLI prints it in one line)."""


@dataclass(frozen=True)
class RunFacts:
    """The budget and setting of one trained run, as recorded in its directory (``ticks``: T of a CTM policy)."""

    path: Path
    policy: str
    ticks: int | None
    steps: int | None
    batch: int | None
    lr: float | None
    n_params: int | None
    train_wall_s: float | None
    eval_seeds: list[int]
    max_steps: int | None
    #: environments stepped together in its evaluation: one model call serves that many episodes
    eval_batch: int
    machine: str
    #: the host's platform string (kernel build), which tells two machines of one kind apart
    host: str
    config: str = field(repr=False)

    def binding(self, name: str) -> str | None:
        """The operative value of ``name`` (e.g. ``ctm_act.neurons``) in the run's config.gin, as text."""
        return config_value(self.config, name)


@dataclass(frozen=True)
class Sweep:
    path: Path
    results: dict[str, Any]
    #: the commands that made it: one ``polibench ablate``, or one ``polibench reevaluate`` per variant
    commands: tuple[str, ...]
    runs: dict[str, list[RunFacts]]

    @property
    def axis(self) -> str:
        return str(self.results["axis"])

    @property
    def variants(self) -> list[dict[str, Any]]:
        return self.results["variants"]

    def policy(self, variant: str) -> str:
        return self.runs[variant][0].policy

    @property
    def eval_batches(self) -> list[int]:
        """The environments its runs' evaluations stepped together per model call (sorted, each once)."""
        return sorted({f.eval_batch for facts in self.runs.values() for f in facts})

    @property
    def is_reference(self) -> bool:
        return all(self.policy(v["name"]).startswith(REFERENCE_PREFIX) for v in self.variants)


@dataclass(frozen=True)
class Run:
    facts: RunFacts
    entry: dict[str, Any]


@dataclass(frozen=True)
class Inputs:
    headline: Sweep | None
    ablations: list[Sweep]
    runs: list[Run]
    references: list[Sweep] = field(default_factory=list)
    #: the headline comparison at other training budgets (smallest first)
    other_budgets: list[Sweep] = field(default_factory=list)

    def sweeps(self) -> list[Sweep]:
        return ([self.headline] if self.headline else []) + self.other_budgets + self.references + self.ablations

    def budgets(self) -> list[Sweep]:
        """Every headline comparison, smallest training budget first."""
        return sorted([*self.other_budgets, *([self.headline] if self.headline else [])], key=steps_of)

    def all_runs(self) -> list[RunFacts]:
        return [f for s in self.sweeps() for facts in s.runs.values() for f in facts] + [r.facts for r in self.runs]


def load_inputs(paths: list[Path]) -> Inputs:
    """Classify and read every input; raise :class:`ReportError` naming the first bad one and the fix."""
    if not paths:
        raise ReportError("no inputs: give one or more sweep directories (from `polibench ablate`) or run "
                          "directories (from `polibench run`)")
    sweeps, runs = [], []
    for path in map(Path, paths):
        if not path.is_dir():
            raise ReportError(f"{path} is not a directory")
        if (path / "sweep.json").exists():
            sweeps.append(load_sweep(path))
        elif RunDir(path).config_path.exists() and RunDir(path).metrics_path.exists():
            runs.append(load_run(path))
        else:
            raise ReportError(f"{path} is neither a sweep directory (sweep.json + results.json, from `polibench "
                              "ablate`) nor an evaluated run directory (config.gin + eval/metrics.json, from "
                              "`polibench run`)")
    comparisons = [s for s in sweeps if is_comparison(s)]
    headline = max(comparisons, key=steps_of) if comparisons else None  # the first of equal budgets
    # a baseline check needs the headline it checks; without one, a reference sweep is reported as an ablation
    references = [s for s in sweeps if s.is_reference] if headline else []
    ablations = [s for s in sweeps if s not in comparisons and not (headline and s.is_reference)]
    others = sorted((s for s in comparisons if s is not headline), key=steps_of)
    return Inputs(headline, ablations, runs, references, others)


def is_comparison(sweep: Sweep) -> bool:
    """A sweep over whole policy configs that compares two or more of our policies (a headline comparison)."""
    policies = {sweep.policy(v["name"]) for v in sweep.variants}
    return sweep.axis in ("policy", "reevaluate") and not sweep.is_reference and len(policies) >= 2


def steps_of(sweep: Sweep) -> int:
    """A sweep's training budget: the most optimiser steps any of its runs recorded."""
    return max((f.steps or 0 for facts in sweep.runs.values() for f in facts), default=0)


def load_sweep(path: Path) -> Sweep:
    spec = read_json(path / "sweep.json")
    commands = _commands(spec)
    command = " and ".join(f"`{c}`" for c in commands)
    results_path = path / "results.json"
    if not results_path.exists():
        raise ReportError(f"{path} has no results.json: its runs have not all finished or were never aggregated. "
                          f"Run {command} again: it resumes the unfinished runs and writes results.json")
    results = read_json(results_path)
    if results.get("missing"):
        raise ReportError(f"{results_path} is partial (gathered with --finished-only; still to come: "
                          f"{', '.join(results['missing'])}). Finish the sweep with {command} first")
    runs = {v["name"]: [read_facts(path / r) for r in v["runs"]] for v in results["variants"]}
    empty = [name for name, facts in runs.items() if not facts]
    if empty:
        raise ReportError(f"{results_path} lists no runs for variant(s) {empty}; run {command} again")
    return Sweep(path, results, commands, runs)


def _commands(spec: dict[str, Any]) -> tuple[str, ...]:
    """The commands recorded in a sweep.json: the sweep's own, else each variant's (a `polibench reevaluate` sweep
    is gathered one variant a call)."""
    if "command" in spec:
        return (spec["command"],)
    per_variant = tuple(v["command"] for v in spec.get("variants", {}).values() if "command" in v)
    return per_variant or ("polibench ablate ...",)


def load_run(path: Path) -> Run:
    from report_gen.figures.results import run_entry

    return Run(read_facts(path), run_entry(path))


def read_facts(run_dir: Path) -> RunFacts:
    """Budget, evaluation seeds and machine of one run, from its run.json, eval/metrics.json and config.gin."""
    rundir = RunDir(run_dir)
    missing = [p.relative_to(run_dir) for p in (rundir.config_path, rundir.info_path, rundir.metrics_path)
               if not p.exists()]
    if missing:
        raise ReportError(f"run directory {run_dir} lacks {', '.join(map(str, missing))}: the run did not finish; "
                          "rerun or resume the command that made it")
    config = rundir.config_path.read_text()
    info = read_json(rundir.info_path)
    evaluation = read_json(rundir.metrics_path)["config"]
    train = info.get("train", {})
    return RunFacts(
        path=run_dir,
        policy=run_policy(rundir, info),
        ticks=_recorded(info, "ticks", lambda: _int(config_value(config, "ctm_act.ticks"))),
        steps=_recorded(info, "steps",
                        lambda: _int(config_value(config, "TrainConfig.steps")) or train.get("total_steps")),
        batch=_recorded(info, "batch_size",
                        lambda: _int(config_value(config, "TrainConfig.batch_size")) or train.get("batch_size")),
        lr=_recorded(info, "lr", lambda: _float(config_value(config, "TrainConfig.lr"))),
        n_params=info.get("n_params"),
        train_wall_s=train.get("wall_s"),
        eval_seeds=list(evaluation.get("seeds", [])),
        max_steps=evaluation.get("max_steps"),
        eval_batch=int(evaluation.get("n_envs") or 1),
        machine=describe_machine(info),
        host=info.get("machine", {}).get("platform", "unknown platform"),
        config=config,
    )


def _recorded(info: dict[str, Any], key: str, older: Callable[[], Any]) -> Any:
    """The fact ``key`` as run.json recorded it when the run was made; ``older()`` reads it for runs made before."""
    return info[key] if key in info else older()


def describe_machine(info: dict[str, Any]) -> str:
    """One line on what kind of machine a run trained on: processor, torch threads, accelerator (the host itself
    is :attr:`RunFacts.host`)."""
    m = info.get("machine", {})
    threads = info.get("train", {}).get("num_threads") or m.get("cpu_threads")
    accel = f"CUDA device {m['cuda_device']}" if m.get("cuda_device") else "no GPU"
    return (f"{m.get('processor') or 'unknown processor'}, training device {info.get('device', '?')}, "
            f"{threads} torch thread{'' if threads == 1 else 's'}, {accel}")


def config_value(config: str, name: str) -> str | None:
    """Value text of a binding ``...name = value`` in an operative config (scope prefixes ignored)."""
    match = re.search(rf"^(?:[\w./]*[./])?{re.escape(name)}\s*=\s*(.+)$", config, flags=re.MULTILINE)
    return match.group(1).strip() if match else None


def _int(text: str | None) -> int | None:
    return int(text) if text and re.fullmatch(r"\d+", text) else None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
