"""`polibench ablate-inference`: trained runs re-evaluated once per value of an inference-time gin binding.

    OUT/
      sweep.json                          the command, the binding, the source runs, each value's bindings
      variants/<value>/<label>/           one run-like directory per value and source run:
        config.gin, run.json              copied from the source run (budget, seeds and policy read as usual)
        source_run.json                   the source run directory and the override
        eval/                             metrics.json, episodes.jsonl, eval_command.json (as `polibench eval`)
      results.json, .csv, .md, .png       as `polibench ablate` writes them (polibench.sweep.aggregate)

Weights stay in the source runs: each evaluation loads them from there with the override, like
``polibench eval RUN --gin_param BINDING``. No training happens, so the values compare the same weights.
Rerunning the same command skips finished evaluations; an OUT started with another binding, other values or other
source runs is refused, so one table never mixes two ablations.

A halting budget can also be given as a calibrated tolerance (``--tolerances 0.04``): each source run is evaluated
at the budget `polibench calibrate` chose for it on its own validation windows (its ``calibration_<rule>.json``),
so one variant ``tolerance_0.04`` pools training seeds at the same accuracy cost, each with its own budget.
"""

from __future__ import annotations

import argparse
import math
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from polibench.console import console
from polibench.experiment import reevaluate
from polibench.io import read_json, write_json
from polibench.registry import _closest
from polibench.rundir import RunDir, RunDirError, calibration_file, held
from polibench.safe_config import read_run_config
from polibench.sweep.ablate import SWEEP_FILE, _portable
from polibench.sweep.aggregate import aggregate, rich_table, write_results
from polibench.sweep.axes import Axis, AxisError, load_base, resolve, split_values

SOURCE_FILE = "source_run.json"
#: Small text files of a source run that make an evaluation directory read like a run (never the weights).
COPIED = ("config.gin", "run.json")


@dataclass(frozen=True)
class Source:
    """A trained run to re-evaluate, its label in OUT, and the command that (re)makes its weights."""

    path: Path
    label: str
    remake: str


@dataclass(frozen=True)
class Evaluation:
    """One source run evaluated with one value of the binding."""

    source: Source
    value: str
    gin_params: tuple[str, ...]
    path: Path

    @property
    def finished(self) -> bool:
        return RunDir(self.path).evaluated()


@dataclass(frozen=True)
class InferenceSpec:
    """What to evaluate; every field but ``out`` and ``device`` decides the numbers."""

    binding: str
    values: list[str]
    runs: list[Path]
    variants: list[str] | None
    out: Path
    episodes: int | None = None
    seed0: int | None = None
    device: str = "auto"
    #: bindings every value is evaluated with, before the value's own (e.g. n_action_steps for ensembling)
    gin_params: list[str] = field(default_factory=list)
    #: calibrated tolerances: one variant each, at every source run's own calibrated budget for ``binding``
    tolerances: list[float] = field(default_factory=list)

    def command(self) -> str:
        """The equivalent command line, recorded in sweep.json."""
        args = ["polibench", "ablate-inference", "--axis", self.binding]
        args += ["--values", ",".join(self.values)] if self.values else []
        args += ["--tolerances", ",".join(f"{t:g}" for t in self.tolerances)] if self.tolerances else []
        for run in self.runs:
            args += ["--runs", str(run)]
        args += ["--variants", ",".join(self.variants)] if self.variants else []
        args += ["--out", str(self.out)]
        args += ["--episodes", str(self.episodes)] if self.episodes is not None else []
        args += ["--seed0", str(self.seed0)] if self.seed0 is not None else []
        for binding in self.gin_params:
            args += ["--gin_param", binding]
        return shlex.join(args)

    def eval_overrides(self) -> dict[str, int]:
        """EvalConfig fields given on the command line; the rest come from each run's saved config."""
        return {k: v for k, v in (("episodes", self.episodes), ("seed0", self.seed0)) if v is not None}


def ablate_inference(spec: InferenceSpec, progress: bool = True) -> dict[str, Any]:
    """Evaluate every source run with every value of the binding (skipping finished ones); write the results."""
    if not spec.values and not spec.tolerances:
        raise AxisError("give --values (gin literals) or --tolerances (calibrated halting budgets), or both")
    sources = find_sources(spec.runs, spec.variants)
    axis = resolve_binding(spec.binding, spec.values, sources, spec.gin_params) if spec.values else None
    evaluations = [Evaluation(s, v.name, (*spec.gin_params, *v.gin_params), spec.out / "variants" / v.name / s.label)
                   for v in (axis.variants if axis else ()) for s in sources]
    evaluations += calibrated_evaluations(spec, sources)
    target = axis.target if axis else spec.binding  # a calibrated budget is always a literal halting.<rule>.<param>
    with held(spec.out, "sweep directory"):
        return _ablate_inference(spec, sources, evaluations, target, progress)


def _ablate_inference(spec: InferenceSpec, sources: Sequence[Source], evaluations: Sequence[Evaluation],
                      target: str, progress: bool) -> dict[str, Any]:
    _record(spec, target, sources, evaluations)
    _run_all([e for e in evaluations if not e.finished], len(evaluations), spec, progress)
    header = {"axis": spec.binding, "target": target, "seeds": _training_seeds(sources),
              "base": ", ".join(_portable(str(r)) for r in spec.runs), "inference_only": True}
    names = list(dict.fromkeys(e.value for e in evaluations))
    results = aggregate(header, {n: [e.path for e in evaluations if e.value == n] for n in names}, spec.out)
    write_results(results, spec.out)
    console.print(rich_table(results))
    return results


def find_sources(runs: Sequence[Path], variants: Sequence[str] | None) -> list[Source]:
    """The trained runs behind ``--runs``: a sweep directory stands for the seed runs of its (chosen) variants."""
    sweeps = [Path(r) for r in runs if (Path(r) / SWEEP_FILE).exists()]
    if variants and not sweeps:
        raise RunDirError("--variants picks variants of a sweep directory, but --runs names no sweep directory")
    chosen = {s: _sweep_variants(s, variants) for s in sweeps}
    single = sum(len(v) for v in chosen.values()) == 1
    sources: list[Source] = []
    for run in map(Path, runs):
        if run in chosen:
            sources += [_sweep_source(run, variant, seed_dir, single) for variant in chosen[run]
                        for seed_dir in _seed_dirs(run / "variants" / variant)]
        elif RunDir(run).config_path.exists():
            sources.append(Source(run, run.name, f"polibench run CONFIG --out {run} --resume"))
        else:
            raise RunDirError(f"{run} is neither a sweep directory ({SWEEP_FILE}, from `polibench ablate`) nor a run "
                              "directory (config.gin, from `polibench run`)")
    _check_sources(sources)
    return sources


def resolve_binding(binding: str, values: Sequence[str], sources: Sequence[Source],
                    shared: Sequence[str] = ()) -> Axis:
    """The variants of ``binding``, checked against every source run's saved config: the binding must parse and
    be a parameter the run builds (an unused binding would silently change nothing). Each saved config is checked
    first as loading the run checks it (:mod:`polibench.safe_config`), since the run may come from elsewhere."""
    axis = None
    for source in sources:
        config = RunDir(source.path).config_path
        read_run_config(config)
        base = load_base([config], shared)
        axis = resolve(binding, values, base)
        if axis.target not in base.bindings and axis.target not in base.parameters:
            raise AxisError(f"{source.path} does not build {axis.target}, so overriding it changes nothing."
                            f"{_closest(axis.target, list(base.bindings))}")
    assert axis is not None  # find_sources returns at least one run
    return axis


#: Variant names of calibrated tolerances start with this (``tolerance_0.04``).
TOLERANCE_PREFIX = "tolerance_"


def tolerance_variant(tolerance: float) -> str:
    """The variant name of a calibrated tolerance."""
    return f"{TOLERANCE_PREFIX}{tolerance:g}"


def calibrated_evaluations(spec: InferenceSpec, sources: Sequence[Source]) -> list[Evaluation]:
    """One evaluation per tolerance and source run, at the budget the run's own calibration chose; each budget is
    resolved against that run's config like a literal value."""
    evaluations = []
    for tolerance in spec.tolerances:
        name = tolerance_variant(tolerance)
        for source in sources:
            budget = calibrated_budget(source.path, spec.binding, spec.gin_params, tolerance, spec.tolerances)
            variant = resolve_binding(spec.binding, [repr(budget)], [source], spec.gin_params).variants[0]
            evaluations.append(Evaluation(source, name, (*spec.gin_params, *variant.gin_params),
                                          spec.out / "variants" / name / source.label))
    return evaluations


def calibrated_budget(run: Path, binding: str, gin_params: Sequence[str], tolerance: float,
                      all_tolerances: Sequence[float] = ()) -> float:
    """The budget `polibench calibrate` chose for ``tolerance`` on ``run``'s validation windows. The calibration
    must be of this binding under the same inference bindings (a swapped-in rule calibrates with its swap), so
    the budget is evaluated on the rule it was chosen for."""
    parts = binding.split(".")
    if len(parts) != 3 or parts[0] != "halting":
        raise AxisError(f"--tolerances needs a halting rule's budget as --axis (halting.<rule>.<budget>, e.g. "
                        f"halting.predicted_error.max_error), got {binding!r}")
    path = run / calibration_file(parts[1])
    wanted = ",".join(f"{t:g}" for t in (all_tolerances or [tolerance]))
    fix = (f"`polibench calibrate {run} --tolerance {wanted}"
           + "".join(f" --gin_param {shlex.quote(b)}" for b in gin_params) + "`")
    if not path.exists():
        raise RunDirError(f"{run} has no {path.name}: calibrate it first with {fix}")
    doc = read_json(path)
    if doc.get("binding") != binding or list(doc.get("gin_params", [])) != list(gin_params):
        raise RunDirError(f"{path} calibrates {doc.get('binding')} with --gin_param {doc.get('gin_params', [])}, "
                          f"not {binding} with {list(gin_params)}: give the calibration's --gin_param, or "
                          f"recalibrate with {fix}")
    found = [c["max_error"] for c in doc.get("calibrations", []) if math.isclose(c["tolerance"], tolerance)]
    if not found:
        have = ", ".join(f"{c['tolerance']:g}" for c in doc.get("calibrations", [])) or "none"
        raise RunDirError(f"{path} has no budget for tolerance {tolerance:g} (calibrated: {have}); recalibrate "
                          f"with {fix}")
    return float(found[0])


def evaluate_source(evaluation: Evaluation, spec: InferenceSpec) -> None:
    """The source run's weights evaluated with the override into ``evaluation.path``, with the protocol of the
    run's saved config."""
    note = {"run_dir": _portable(str(evaluation.source.path)), "binding": spec.binding, "value": evaluation.value,
            "gin_params": list(evaluation.gin_params)}
    evaluate_copy(evaluation.source.path, evaluation.path, spec.eval_overrides(), evaluation.gin_params, spec.device,
                  note, progress=False)


def evaluate_copy(source: Path, target: Path, overrides: dict[str, Any], gin_params: Sequence[str], device: str,
                  note: dict[str, Any], progress: bool) -> None:
    """``source``'s weights evaluated into the run-like directory ``target`` as `polibench eval` does
    (load_policy + evaluate_run + eval_command.json): its small files copied, ``note`` as source_run.json, then
    the evaluation (EvalConfig ``overrides`` on the run's saved protocol, inference-time ``gin_params``)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(source / name, target / name)
    write_json(target / SOURCE_FILE, note)
    reevaluate(source, overrides, RunDir(target).eval_dir, gin_params, device, progress=progress,
               force=True)  # only unfinished ones come here


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--axis", required=True,
                        help="inference-time binding, e.g. halting.variance.enabled or policy.ctm_act.ticks")
    parser.add_argument("--values", help="comma-separated gin literals, e.g. True,False or 5,10,20")
    parser.add_argument("--tolerances", help="comma-separated calibrated tolerances for a halting budget --axis: "
                                             "each run at the budget `polibench calibrate` chose for it")
    parser.add_argument("--runs", action="append", required=True,
                        help="a sweep directory (from `polibench ablate`) or a run directory; repeatable")
    parser.add_argument("--variants", help="comma-separated variants of the sweep directories (default: all)")
    parser.add_argument("--out", required=True, help="sweep directory to write; rerunning resumes it")
    parser.add_argument("--episodes", type=int, help="evaluation episodes (default: each run's saved protocol)")
    parser.add_argument("--seed0", type=int, help="first evaluation seed (default: each run's saved protocol)")
    parser.add_argument("--gin_param", "--gin-param", action="append", default=[],
                        help="inference-time binding for every value, before the value's own (e.g. "
                             "'policy.ctm_act.n_action_steps = 1' for a sweep over temporal ensembling)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")


def main(args: argparse.Namespace) -> int:
    spec = InferenceSpec(args.axis, split_values(args.values or ""), [Path(r) for r in args.runs],
                         split_values(args.variants) if args.variants else None, Path(args.out), args.episodes,
                         args.seed0, args.device, list(args.gin_param), _tolerances(args.tolerances))
    ablate_inference(spec, progress=not args.no_progress)
    console.print(f"[green]sweep directory: {spec.out}")
    return 0


def _sweep_variants(sweep: Path, wanted: Sequence[str] | None) -> list[str]:
    present = sorted(p.name for p in (sweep / "variants").glob("*") if p.is_dir())
    missing = [v for v in wanted or () if v not in present]
    if missing or not present:
        raise RunDirError(f"{sweep} has no variant(s) {missing or '(none at all)'}; its variants: "
                          f"{', '.join(present) or '(none)'}")
    return list(wanted) if wanted else present


def _seed_dirs(variant_dir: Path) -> list[Path]:
    return sorted(variant_dir.glob("seed*"), key=lambda p: int(p.name[4:]) if p.name[4:].isdigit() else -1)


def _sweep_source(sweep: Path, variant: str, seed_dir: Path, single: bool) -> Source:
    command = read_json(sweep / SWEEP_FILE).get("command", "polibench ablate ...")
    return Source(seed_dir, seed_dir.name if single else f"{variant}_{seed_dir.name}", command)


def _check_sources(sources: Sequence[Source]) -> None:
    """Fail before any evaluation: no runs, clashing labels, or runs without trained weights."""
    if not sources:
        raise RunDirError("--runs names no trained runs")
    labels = [s.label for s in sources]
    clashes = sorted({label for label in labels if labels.count(label) > 1})
    if clashes:
        raise RunDirError(f"several source runs would be labelled {clashes}; give run directories with distinct "
                          "names, or one sweep directory")
    for source in sources:
        rundir = RunDir(source.path)
        if not rundir.model_path.exists():
            raise RunDirError(f"{source.path} has no trained weights ({rundir.model_path.name}): its training did not "
                              f"finish. Regenerate them with `{source.remake}`, then rerun this command.")


def _tolerances(text: str | None) -> list[float]:
    try:
        tolerances = [float(t) for t in split_values(text or "")]
    except ValueError as exc:
        raise AxisError(f"--tolerances takes comma-separated numbers, e.g. 0.035,0.04,0.05: {exc}") from exc
    if any(t <= 0 for t in tolerances):
        raise AxisError(f"--tolerances must be positive, got {text}")
    return tolerances


def _variant_record(spec: InferenceSpec, name: str, evaluations: Sequence[Evaluation]) -> dict[str, Any]:
    """A variant in sweep.json: its own bindings (one list, or one per source run for a calibrated tolerance,
    whose budget differs per run) and its evaluation directories."""
    mine = [e for e in evaluations if e.value == name]
    own = {e.source.label: list(e.gin_params[len(spec.gin_params):]) for e in mine}
    record: dict[str, Any] = {"gin_params": next(iter(own.values()))}
    tolerance = next((t for t in spec.tolerances if tolerance_variant(t) == name), None)
    if tolerance is not None:
        record = {"tolerance": tolerance, "gin_params_by_run": own}
    return record | {"runs": [str(e.path.relative_to(spec.out)) for e in mine]}


def _record(spec: InferenceSpec, target: str, sources: Sequence[Source], evaluations: Sequence[Evaluation]) -> None:
    """Write sweep.json; refuse an OUT started with another binding, other values, runs or evaluation protocol."""
    path = spec.out / SWEEP_FILE
    names = dict.fromkeys(e.value for e in evaluations)
    now = {"target": target, "eval_overrides": spec.eval_overrides(),
           "gin_params": list(spec.gin_params),
           "source_runs": {s.label: _portable(str(s.path)) for s in sources},
           "variants": {name: _variant_record(spec, name, evaluations) for name in names}}
    if path.exists():
        recorded = read_json(path)
        differs = [k for k in now if recorded.get(k, [] if k == "gin_params" else None) != now[k]]
        if differs:
            raise RunDirError(f"{spec.out} holds an inference ablation with other {', '.join(differs)} (recorded: "
                              f"{recorded.get('command')!r}); rerun that command or choose another --out")
    write_json(path, {"command": spec.command(), "axis": spec.binding, "seeds": _training_seeds(sources),
                      "inference_only": True, **now})


def _run_all(todo: Sequence[Evaluation], total: int, spec: InferenceSpec, progress: bool) -> None:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not progress) as bar:
        job = bar.add_task(f"ablate-inference {spec.binding}", total=total, completed=total - len(todo))
        for evaluation in todo:
            evaluate_source(evaluation, spec)
            bar.update(job, advance=1, description=f"{spec.binding}={evaluation.value}: {evaluation.source.label} done")


def _training_seeds(sources: Sequence[Source]) -> list[int]:
    """The source runs' training seeds (from their run.json), for the results header."""
    return sorted({RunDir(s.path).read_run_info().get("seed", 0) for s in sources})
