"""Results tables generated from run directories (never typed by hand): markdown for the README, rows for reports."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from polibench.io import read_json
from polibench.metric_table import METRICS, VIEWS
from polibench.rundir import EVAL_SUBDIR, METRICS_FILE, RunDir, RunDirError


def policy_name(config_text: str) -> str:
    """The policy a run trained, read from its operative config (``Experiment.policy = @policy.act``)."""
    match = re.search(r"Experiment\.policy\s*=\s*@(?:policy\.)?(\w+)", config_text)
    return match.group(1) if match else "?"


def run_policy(rundir: RunDir, info: dict[str, Any]) -> str:
    """The policy a run trained: as its run.json recorded it, or from its config.gin for runs made before that."""
    return info.get("policy") or policy_name(rundir.config_path.read_text())


def expand_inputs(paths: list[Path], eval_subdir: str = EVAL_SUBDIR) -> list[Path]:
    """Run and evaluation directories as given; a sweep directory (``sweep.json``) stands for its finished runs.

    Raises RunDirError for a path that is none of these, naming what was expected.
    """
    out: list[Path] = []
    for path in map(Path, paths):
        if (path / "sweep.json").exists():
            out += sorted(p for p in path.glob("variants/*/*") if (p / eval_subdir / METRICS_FILE).exists())
        elif (path / METRICS_FILE).exists() or RunDir(path).info_path.exists():
            out.append(path)
        else:
            raise RunDirError(f"{path} is not a run directory (run.json), an evaluation directory (metrics.json) "
                              f"or a sweep directory (sweep.json)")
    return out


def _label(run_dir: Path) -> str:
    """A run's name in tables: ``variant/<run>`` inside a sweep, else the directory name."""
    return f"{run_dir.parent.name}/{run_dir.name}" if run_dir.parent.parent.name == "variants" else run_dir.name


def load_row(path: Path, eval_subdir: str = EVAL_SUBDIR) -> dict[str, Any]:
    """One evaluation's run identity, budget and summary.

    ``path`` is a run directory (its ``eval_subdir`` evaluation is read) or one evaluation directory inside a run
    (e.g. ``RUN/eval_ddim10``, labelled ``RUN/eval_ddim10``).
    """
    path = Path(path)
    if (path / METRICS_FILE).exists():
        run_dir, eval_dir, label = path.parent, path, f"{_label(path.parent)}/{path.name}"
    else:
        run_dir, eval_dir, label = path, path / eval_subdir, _label(path)
    rundir = RunDir(run_dir)
    if not (eval_dir / METRICS_FILE).is_file():
        raise RunDirError(f"{run_dir} has no evaluation {eval_dir.name}/{METRICS_FILE} (still training, or "
                          f"evaluated elsewhere); run `polibench eval {run_dir}` first, or give --eval-subdir")
    info = rundir.read_run_info()
    metrics = _read_metrics(eval_dir / METRICS_FILE)
    train = info.get("train") or {}
    if not isinstance(train, dict) or not all(isinstance(info.get(k), (int, type(None))) for k in ("seed", "n_params")):
        raise RunDirError(f"{rundir.info_path} is not the record polibench writes ('train' an object, 'seed' and "
                          "'n_params' integers); restore it from a copy or run the run again")
    return {
        "run": label,
        "policy": run_policy(rundir, info),
        "seed": info.get("seed"),
        "n_params": info.get("n_params"),
        "steps": train.get("total_steps"),
        "batch": train.get("batch_size"),
        "train_wall_min": train.get("wall_s", 0.0) / 60 if train.get("wall_s") else None,
        "s_per_step": train.get("s_per_step"),
        "episodes": len(metrics["config"]["seeds"]),
        "eval_seeds": f"{metrics['config']['seeds'][0]}-{metrics['config']['seeds'][-1]}",
        "summary": metrics["summary"],
    }


def _read_metrics(path: Path) -> dict[str, Any]:
    """metrics.json as tables read it. Entries of the wrong JSON type, and numbers that are not finite (polibench
    writes null for those), are a RunDirError naming the file and the entry, not a wrong table or a traceback."""
    metrics = read_json(path)
    config = metrics.get("config") if isinstance(metrics, dict) else None
    summary = metrics.get("summary") if isinstance(metrics, dict) else None
    if not isinstance(summary, dict) or not isinstance(config, dict) or not isinstance(config.get("seeds"), list) \
            or not config["seeds"]:
        raise RunDirError(f"{path} is not an evaluation polibench wrote (an object with a 'summary' object and "
                          "'config.seeds', a non-empty list); evaluate the run again with `polibench eval`")
    for name, value in summary.items():
        parts = value.items() if isinstance(value, dict) else [("", value)]
        for key, number in parts:
            finite = isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number)
            if not (number is None or finite or (not key and isinstance(number, str) and name not in METRICS)):
                raise RunDirError(f"{path}: summary.{name}{'.' + key if key else ''} is {number!r}, not a finite "
                                  "number (polibench writes null where there is none); evaluate the run again with "
                                  "`polibench eval`")
    return metrics


def _cell(value: Any, fmt: str) -> str:
    if isinstance(value, dict):
        if value.get("mean") is None:
            return "-"
        text = fmt.format(value["mean"])
        if value.get("ci_low") is not None and value["ci_low"] != value["ci_high"]:
            text += f" [{fmt.format(value['ci_low'])}, {fmt.format(value['ci_high'])}]"
        return text
    return "-" if value is None else fmt.format(value)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one row per run, the run table's metrics with their 95% bootstrap intervals over episodes."""
    head = ["run", "policy", "params", "steps x batch", "train min", "s/step", "episodes (seeds)"]
    head += [METRICS[name].heading for name in VIEWS["run_table"]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["run"], r["policy"], f"{r['n_params'] / 1e6:.2f}M" if r["n_params"] else "-",
                 f"{r['steps']} x {r['batch']}", _cell(r["train_wall_min"], "{:.1f}"), _cell(r["s_per_step"], "{:.3f}"),
                 f"{r['episodes']} ({r['eval_seeds']})"]
        cells += [_cell(r["summary"].get(name), METRICS[name].fmt) for name in VIEWS["run_table"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
