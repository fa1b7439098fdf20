"""The budget figure: does a ranking hold, narrow or flip as policies train longer?

Two sources per policy, on one step axis: the learning curve, from the quick rollout checks on the check seeds
that a run logs every ``TrainConfig.eval_every`` steps (``train_log.jsonl`` lines with ``"eval"``; mean over
training seeds, each seed drawn thin), and the benchmark evaluations at the end of each budget's sweep (mean and
95% interval over all episodes of all seeds, from results.json). The curve reads check seeds, the points benchmark
seeds: they are drawn differently so nobody mistakes one for the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from polibench.io import read_json
from polibench.viz.figures.style import REPORT_WIDTH, report_figure
from report_gen.figures.results import sweep_entries

TRAIN_LOG = "train_log.jsonl"
#: (metric in the check records and results.json, panel title)
PANELS = (("success_rate", "success rate"), ("avg_max_coverage", "avg max coverage"))
LEGEND_COLUMNS = 3


@dataclass
class PolicyBudget:
    """One policy across budgets: per training seed its check curve {metric: (steps, values)}, and the benchmark
    evaluation of each budget {steps: {metric: stat}}."""

    name: str
    curves: list[dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=list)
    points: dict[int, dict[str, Mapping[str, float]]] = field(default_factory=dict)


def check_curve(run_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A run's periodic check rollouts: {metric: (steps, values)} (empty arrays for a run that logged none)."""
    path = Path(run_dir) / TRAIN_LOG
    records = [r for r in map(json.loads, path.read_text().splitlines() if path.exists() else []) if "eval" in r]
    steps = np.array([r["step"] for r in records], dtype=float)
    return {m: (steps, np.array([r["eval"].get(m, np.nan) for r in records], dtype=float)) for m, _ in PANELS}


def _episodes(point: Mapping[str, Mapping[str, float]]) -> float:
    """How many episodes a benchmark point pools (0 for none)."""
    return max((stat.get("n", 0) for stat in point.values()), default=0)


def collect(sweeps: Sequence[Path], names: Sequence[str] | None = None) -> list[PolicyBudget]:
    """Every variant of every sweep (or ``names`` only), grouped by variant name across sweeps; a sweep's budget
    is the training steps its runs recorded."""
    policies: dict[str, PolicyBudget] = {}
    for sweep in map(Path, sweeps):
        for variant in sweep_entries(sweep):
            if names is not None and variant["name"] not in names:
                continue
            runs = [sweep / r for r in variant["runs"]]
            budget = policies.setdefault(variant["name"], PolicyBudget(variant["name"]))
            steps = int(read_json(runs[0] / "run.json")["train"]["total_steps"])
            point = {m: variant["metrics"][m] for m, _ in PANELS if m in variant["metrics"]}
            if _episodes(point) > _episodes(budget.points.get(steps, {})):  # one budget twice: the larger evaluation
                budget.points[steps] = point
            budget.curves += [c for c in map(check_curve, runs) if len(c[PANELS[0][0]][0])]
    return list(policies.values())


@report_figure
def budget_figure(policies: Sequence[PolicyBudget], colours: Mapping[str, str] | None = None) -> Figure:
    """One panel per metric: mean check curve (thin lines per seed) and benchmark points with 95% intervals, the
    points of one budget set slightly apart so their intervals do not hide each other; one legend entry per policy
    below the panels (the caption says which mark is which source), so no legend covers a curve."""
    fig = Figure(figsize=(REPORT_WIDTH, 3.0 + 0.15 * -(-len(policies) // LEGEND_COLUMNS)), layout="constrained")
    FigureCanvasAgg(fig)
    last = max((b for p in policies for b in p.points), default=1)
    dodge = 0.012 * last
    handles = []
    for ax, (metric, title) in zip(fig.subplots(1, len(PANELS), squeeze=False)[0], PANELS):
        for i, policy in enumerate(policies):
            colour = (colours or {}).get(policy.name, f"C{i}")
            curves = [c[metric] for c in policy.curves]
            for steps, values in curves:
                ax.plot(steps, values, color=colour, alpha=0.25, lw=0.8)
            mean_curve = bool(curves) and all(np.array_equal(curves[0][0], s) for s, _ in curves)
            if mean_curve:
                ax.plot(curves[0][0], np.nanmean([v for _, v in curves], axis=0), color=colour, lw=1.6)
            budgets = sorted(b for b, p in policy.points.items() if metric in p)
            stats = [policy.points[b][metric] for b in budgets]
            if stats:
                mean = np.array([s["mean"] for s in stats])
                err = np.array([[s["mean"] - s["ci_low"], s["ci_high"] - s["mean"]] for s in stats]).T
                x = np.array(budgets, dtype=float) + (i - (len(policies) - 1) / 2) * dodge
                ax.errorbar(x, mean, yerr=err.tolist(), fmt="o", color=colour, capsize=3, ms=4, mec="k")
            if ax is fig.axes[0]:
                handles.append(Line2D([], [], color=colour, lw=1.6 if mean_curve else 0, marker="o", mec="k",
                                      ms=4, label=policy.name))
        ax.set_title(title)
        ax.set_xlabel("optimiser steps")
        ax.set_ylim(0.0, 1.02)
        ax.grid(alpha=0.3)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(LEGEND_COLUMNS, len(handles)), frameon=False)
    return fig


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m report_gen.figures.budget SWEEP ... --out FILE.png``: the budget figure of the sweeps, from the
    headline sweeps of every budget, as one file (for the README, without building the paper)."""
    import argparse

    from polibench.viz.figures.save import save_figure
    from report_gen.paper.style import label

    parser = argparse.ArgumentParser(description=main.__doc__.split(":")[0])
    parser.add_argument("sweeps", nargs="+", type=Path, help="headline sweep directories (results.json), any budget")
    parser.add_argument("--out", type=Path, required=True, help="the figure file to write (.png)")
    args = parser.parse_args(argv)
    missing = [str(s) for s in args.sweeps if not (s / "results.json").exists()]
    if missing:
        parser.error(f"no results.json in {', '.join(missing)}: give finished sweep directories")
    policies = collect(args.sweeps)
    for policy in policies:
        policy.name = label(policy.name)
    print(save_figure(budget_figure(policies), args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
