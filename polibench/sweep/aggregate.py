"""Results of a sweep across seeds and episodes: what each variant scored, not which one is better.

Per variant and metric: the mean and 95% bootstrap interval over all episodes of all its training seeds, and the
mean of each seed. Whether one variant is better than another is decided in one place, by the paired verdicts of
:mod:`polibench.sweep.verdicts` (docs/verdicts.md); overlapping or separate intervals here decide nothing.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
from rich.table import Table

from polibench.evaluation.metrics import EPISODE_ROWS, summarize
from polibench.io import JSONFileError, atomic_write, read_text, write_json, write_text
from polibench.metric_table import METRICS, VIEWS, View
from polibench.rundir import RunDir

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The metric the terminal table and the per-seed column lead with (Diffusion Policy's "max reward").
PRIMARY = "avg_max_reward"
LEGEND = ("Mean [95% bootstrap interval] over all evaluation episodes of all training seeds. Which variant is "
          "better: `polibench verdicts SWEEP --variant A --against B` (paired over training and start seeds).")


def load_episodes(run_dir: Path) -> list[dict[str, Any]]:
    path = RunDir(run_dir).episodes_path
    rows = []
    for number, line in enumerate(read_text(path).splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise JSONFileError(f"{path}, line {number}, is not valid JSON ({exc.msg}): evaluate the run again "
                                f"(`polibench eval {run_dir} --out {path.parent} --force`)") from None
        if not isinstance(rows[-1], dict):
            raise JSONFileError(f"{path}, line {number}, is not an episode's record (a JSON object): evaluate the "
                                f"run again (`polibench eval {run_dir} --out {path.parent} --force`)")
    return rows


def variant_stats(seed_episodes: Sequence[Sequence[Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Pooled mean and 95% bootstrap interval per metric over every episode of every seed, plus each seed's mean."""
    pooled = {k: s for k, s in summarize([row for rows in seed_episodes for row in rows]).items() if s["n"]}
    for metric in EPISODE_ROWS:
        if metric.name in pooled:
            pooled[metric.name]["seed_means"] = [_mean([row.get(metric.episode) for row in rows])
                                                 for rows in seed_episodes]
    return pooled


def aggregate(header: Mapping[str, Any], runs: Mapping[str, Sequence[Path]], sweep_dir: Path) -> dict[str, Any]:
    """The sweep's results document: ``header`` (axis, base, seeds, ...) and, per variant, its runs and stats."""
    stats = {name: variant_stats([load_episodes(r) for r in dirs]) for name, dirs in runs.items()}
    variants = [{"name": name, "runs": [str(r.relative_to(sweep_dir)) for r in dirs], "n_seeds": len(dirs),
                 "n_episodes": stats[name].get("success_rate", {}).get("n", 0), "metrics": stats[name]}
                for name, dirs in runs.items()]
    return {**header, "primary_metric": PRIMARY, "variants": variants}


def write_results(results: Mapping[str, Any], out_dir: Path) -> dict[str, Path]:
    """results.json, results.csv (one row per variant and metric), results.md and, with the ``report`` extra
    (matplotlib) installed, results.png, each atomically."""
    written = {
        "json": write_json(out_dir / "results.json", results),
        "csv": write_text(out_dir / "results.csv", to_csv(results)),
        "markdown": write_text(out_dir / "results.md", to_markdown(results)),
    }
    if importlib.util.find_spec("matplotlib") is not None:
        written["chart"] = atomic_write(out_dir / "results.png",
                                        lambda p: bar_chart(results).savefig(p, format="png", dpi=120))
    return written


def to_csv(results: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["variant", "metric", "mean", "ci_low", "ci_high", "n_episodes", "n_seeds",
                     "seed_means"])
    for v in results["variants"]:
        for metric, s in v["metrics"].items():
            writer.writerow([v["name"], metric, s["mean"], s["ci_low"], s["ci_high"], s["n"], v["n_seeds"],
                             ";".join(_num(x) for x in s.get("seed_means", []))])
    return buf.getvalue()


def to_markdown(results: Mapping[str, Any]) -> str:
    """Mean [95% interval] per variant and metric, and the primary metric's mean per seed."""
    metrics = _table_metrics(results)
    primary = METRICS[PRIMARY]
    head = ["variant", "seeds x episodes", *(METRICS[m].heading for m in metrics), f"{primary.heading} per seed"]
    title = (f"Ablation over `{results['axis']}` (`{results['target']}`), base {results['base']}, "
             f"training seeds {results['seeds']}.")
    if results.get("missing"):
        title += (f" **Partial** (gathered with --finished-only): {len(results['missing'])} runs still to come "
                  f"({', '.join(results['missing'])}).")
    lines = [title, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v in results["variants"]:
        cells = [v["name"], f"{v['n_seeds']} x {v['n_episodes'] // v['n_seeds']}"]
        for m in metrics:
            cells.append(_interval(v["metrics"].get(m), METRICS[m].fmt))
        seed_means = v["metrics"].get(PRIMARY, {}).get("seed_means", [])
        cells.append(", ".join(_num(x, primary.fmt) for x in seed_means))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", LEGEND]
    return "\n".join(lines) + "\n"


def rich_table(results: Mapping[str, Any]) -> Table:
    """The headline columns of the markdown table, for a terminal."""
    metrics = _table_metrics(results, "sweep_terminal")
    table = Table(title=f"ablation: {results['axis']} ({results['target']})", title_justify="left")
    table.add_column("variant", style="bold cyan")
    table.add_column("seeds", justify="right")
    for m in metrics:
        table.add_column(METRICS[m].heading, justify="right")
    for v in results["variants"]:
        cells = [_interval(v["metrics"].get(m, {}), METRICS[m].fmt) for m in metrics]
        table.add_row(v["name"], str(v["n_seeds"]), *cells)
    return table


def bar_chart(results: Mapping[str, Any]) -> "Figure":
    """One panel per headline metric: bars at the pooled mean with 95% interval error bars, dots at seed means."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    metrics = _table_metrics(results, "sweep_chart")
    names = [v["name"] for v in results["variants"]]
    fig = Figure(figsize=(max(4.0, 0.6 * len(names) + 2) * len(metrics), 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    for ax, metric in zip(fig.subplots(1, len(metrics), squeeze=False)[0], metrics):
        stats = [v["metrics"].get(metric, {}) for v in results["variants"]]
        mean = np.array([s.get("mean", np.nan) for s in stats], dtype=float)
        err = np.array([[m - s.get("ci_low", np.nan), s.get("ci_high", np.nan) - m] for m, s in zip(mean, stats)])
        x = np.arange(len(names))
        ax.bar(x, mean, color="C0")
        # errorbar, not bar(yerr=): bar's error path warns on a single bar (NumPy scalar conversion in matplotlib)
        ax.errorbar(x, mean, yerr=err.T, fmt="none", ecolor="k", capsize=4)
        for xi, s in zip(x, stats):
            seeds = [m for m in s.get("seed_means", []) if m is not None]
            ax.scatter([xi] * len(seeds), seeds, color="k", s=12, zorder=3)
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.set_ylim(0.0, 1.05)
        ax.set_title(METRICS[metric].heading)
    fig.suptitle(f"{results['axis']}: mean and 95% interval (which differ: `polibench verdicts`)")
    return fig


def _table_metrics(results: Mapping[str, Any], view: View = "sweep_table") -> list[str]:
    """The metrics of ``view`` that some variant measured."""
    return [m for m in VIEWS[view] if any(m in v["metrics"] for v in results["variants"])]


def _interval(stat: Mapping[str, Any] | None, fmt: str) -> str:
    if not stat or stat.get("mean") is None or not math.isfinite(stat["mean"]):
        return "-"
    return f"{fmt.format(stat['mean'])} [{fmt.format(stat['ci_low'])}, {fmt.format(stat['ci_high'])}]"


def _mean(values: Sequence[Any]) -> float | None:
    x = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return float(np.nanmean(x)) if np.any(~np.isnan(x)) else None


def _num(x: float | None, fmt: str = "{:.6g}") -> str:
    return "" if x is None else fmt.format(x)
