"""Figures of the halting study: calibration, compute against difficulty, and the accuracy-compute trade-off.

- :func:`halting_study_figure`: in one row, calibrated runs' predicted against realised chunk error per tick
  (calibration.json of ``polibench calibrate``, one line per run, e.g. per training seed, on the validation windows
  each was calibrated on), then coverage and success against mean ticks per call as the halting knob moves (one
  evaluation per knob value, e.g. an ``ablate-inference`` sweep over tolerances);
- :func:`ticks_by_difficulty_figure`: ticks per call over *every* evaluation episode against one difficulty
  measure of the start (:func:`start_distance`), with 95% bootstrap intervals per third of the starts, and
  success per third beside it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from polibench.data.keypoints import keypoints_from_pose
from polibench.evaluation.env import make_env
from polibench.evaluation.metrics import bootstrap_ci
from polibench.sweep.inference import TOLERANCE_PREFIX
from polibench.viz.figures.style import PANEL, REPORT_MAX_HEIGHT, REPORT_WIDTH, report_figure

#: Difficulty groups: terciles of the start distance.
GROUPS = ("easy", "medium", "hard")


def start_distance(seeds: Sequence[int]) -> np.ndarray:
    """Per start seed: the mean distance (px) between the block's 8 keypoints at the start and at the goal pose.

    One number that grows with both the offset and the rotation still to undo (the T has no symmetry), read from
    gym-pusht's own start for the seed.
    """
    env = make_env("keypoints")
    out = []
    for seed in seeds:
        _, info = env.reset(seed=int(seed))
        start = keypoints_from_pose(np.asarray(info["block_pose"], dtype=np.float64)).reshape(-1, 2)
        goal = keypoints_from_pose(np.asarray(info["goal_pose"], dtype=np.float64)).reshape(-1, 2)
        out.append(float(np.linalg.norm(start - goal, axis=1).mean()))
    env.close()
    return np.array(out)


def tercile_edges(distance: np.ndarray) -> np.ndarray:
    """The two start distances that cut the starts into easy, medium and hard thirds."""
    return np.quantile(distance, [1 / 3, 2 / 3])


def difficulty_groups(distance: np.ndarray) -> np.ndarray:
    """0 / 1 / 2 for the easy, medium and hard third of the starts (tercile edges of ``distance``)."""
    return np.searchsorted(tercile_edges(distance), distance, side="right")


def ticks_per_third(episodes: Sequence[Mapping[str, Any]]) -> list[dict[str, float]]:
    """Mean ticks per call of the easy, medium and hard third of the starts, each with its 95% bootstrap interval
    over episodes (what the figure's squares show, for prose that states it)."""
    rows = [e for e in episodes if e.get("ticks_per_call") is not None]
    ticks = np.array([r["ticks_per_call"] for r in rows], dtype=float)
    group = difficulty_groups(start_distance([r["seed"] for r in rows]))
    return [bootstrap_ci(ticks[group == g]) for g in range(len(GROUPS)) if np.any(group == g)]


def every_call_ran_all_ticks(episodes: Sequence[Mapping[str, Any]], max_ticks: int) -> bool:
    """True when no call halted early (halting off, or never triggered): ticks then say nothing about difficulty."""
    ticks = [e["ticks_per_call"] for e in episodes if e.get("ticks_per_call") is not None]
    return bool(ticks) and bool(np.allclose(ticks, max_ticks))


@report_figure
def ticks_by_difficulty_figure(episodes: Sequence[Mapping[str, Any]], max_ticks: int, title: str = "") -> Figure:
    """Left: each episode's mean ticks per call against its start distance (filled: success), with the mean per
    difficulty third and its 95% bootstrap interval; when no call halted early, a note instead. Right: success
    rate and mean max coverage per third with 95% intervals, so the measure's thirds are seen to be harder.
    ``episodes``: rows of eval/episodes.jsonl."""
    rows = [e for e in episodes if e.get("ticks_per_call") is not None]
    if not rows:
        raise ValueError("these episodes recorded no ticks per call: the figure needs a CTM-ACT evaluation")
    ticks = np.array([r["ticks_per_call"] for r in rows], dtype=float)
    success = np.array([float(bool(r["success"])) for r in rows])
    coverage = np.array([r["max_coverage"] for r in rows], dtype=float)
    distance = start_distance([r["seed"] for r in rows])
    group = difficulty_groups(distance)
    fig = Figure(figsize=(REPORT_WIDTH, REPORT_MAX_HEIGHT * 0.62), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
    if every_call_ran_all_ticks(rows, max_ticks):
        left.text(0.5, 0.5, f"Every model call of the {len(rows)} episodes ran all {max_ticks} ticks:\n"
                  "compute did not adapt, so there is no\nticks-against-difficulty relation to draw.",
                  transform=left.transAxes, ha="center", va="center")
        left.set_axis_off()
    else:
        _ticks_against_distance(left, distance, group, ticks, success, max_ticks)
    for values, label, offset in ((success, "success rate", -0.08), (coverage, "mean max coverage", 0.08)):
        _group_means(right, values, group, offset, label)
    right.set_xticks(range(len(GROUPS)), GROUPS)
    right.set_xlabel("start difficulty (third)")
    right.set_ylim(0.0, 1.05)
    right.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def _ticks_against_distance(ax: Axes, distance: np.ndarray, group: np.ndarray, ticks: np.ndarray,
                            success: np.ndarray, max_ticks: int) -> None:
    """Episodes as points (filled: success), tercile edges dashed, each third's mean and 95% interval."""
    won = success > 0
    ax.scatter(distance[won], ticks[won], s=14, color="tab:blue", label="episode (success)")
    ax.scatter(distance[~won], ticks[~won], s=14, facecolors="none", edgecolors="tab:blue", label="episode (failure)")
    for edge in tercile_edges(distance):
        ax.axvline(edge, color="0.6", ls="--", lw=0.8)
    label = "mean of the third, 95% interval"
    for g, name in enumerate(GROUPS):
        if not np.any(group == g):  # fewer starts than thirds
            continue
        stats = bootstrap_ci(ticks[group == g])
        x = float(np.median(distance[group == g]))
        ax.errorbar(x, stats["mean"], yerr=[[stats["mean"] - stats["ci_low"]], [stats["ci_high"] - stats["mean"]]],
                    fmt="s", ms=5, color="k", capsize=4, label=label)
        label = None  # one legend entry for the three
        ax.annotate(name, (x, 1.0), xycoords=("data", "axes fraction"), xytext=(0, -2), textcoords="offset points",
                    ha="center", va="top", color="0.3")
    ax.set_ylim(0.5, max_ticks + 0.9)
    ax.set_xlabel("start distance to the goal (px, mean over the T's 8 keypoints)")
    ax.set_ylabel("mean ticks per model call\n(per episode)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False)


def _group_means(ax: Axes, values: np.ndarray, group: np.ndarray, offset: float, label: str) -> None:
    """Mean of ``values`` per difficulty third with its 95% bootstrap interval."""
    stats = [bootstrap_ci(values[group == g]) for g in range(len(GROUPS))]
    mean = np.array([s["mean"] for s in stats])
    err = np.array([[s["mean"] - s["ci_low"], s["ci_high"] - s["mean"]] for s in stats]).T
    ax.errorbar(np.arange(len(GROUPS)) + offset, mean, yerr=err.tolist(), fmt="o", ms=4, capsize=4, label=label)


def halting_study_figure(calibrations: Mapping[str, Sequence[tuple[str, Mapping[str, Any]]]],
                         points: Sequence[tuple[str, Mapping[str, Any]]],
                         metrics: Sequence[tuple[str, str]] = (("avg_max_coverage", "avg max coverage"),),
                         max_ticks: int | None = None) -> Figure:
    """The halting study of one set of weights in one row of panels, so it reads as one figure: per rule, its
    calibration (mean predicted against mean realised error per tick, numbers: the tick; one line per (label,
    calibration), e.g. per training seed; the diagonal of a calibrated rule), then per (metric, axis label) the
    accuracy-compute trade-off (``points``: (``rule: budget``, the evaluation's metrics.json summary), one line per
    rule through its budgets, 95% intervals on both axes, points that coincide sharing one mark)."""
    panels = len(calibrations) + (len(metrics) if points else 0)
    if not panels:
        raise ValueError("nothing to draw: give calibrations, evaluation points, or both")
    fig = Figure(figsize=(PANEL * 1.35 * panels, PANEL * 1.15), layout="constrained")
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(1, panels, squeeze=False)[0])
    for ax, (rule, docs) in zip(axes, calibrations.items()):
        _reliability_panel(ax, docs)
        ax.set_title(f"calibration: {rule.replace('_', '-')}", fontsize=8)
    if points:
        rules: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        for label, summary in points:
            rule, _, budget = label.partition(": ")
            rules.setdefault(rule, []).append((budget or rule, summary))
        trade_off = axes[len(calibrations):]
        for ax, (metric, name) in zip(trade_off, metrics):
            _trade_off_panel(ax, rules, metric)
            ax.set_xlabel("mean ticks per call")
            ax.set_ylabel(name)
            ax.set_title(f"accuracy against compute: {name}", fontsize=8)
            if max_ticks:
                ax.set_xlim(0.5, max_ticks + 1.5)
            ax.grid(alpha=0.3)
        trade_off[0].legend(fontsize=7, title="rule (point labels: budget)", title_fontsize=7)
    return fig


def _reliability_panel(ax: Axes, calibrations: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """One line per (label, calibration) of one rule: mean predicted against realised error per tick."""
    top = 0.0
    for i, (label, calibration) in enumerate(calibrations):
        rows = [r for r in calibration["reliability"] if r["predicted"] is not None]  # ticks with a finite score
        predicted = np.array([r["predicted"] for r in rows])
        realised = np.array([r["realised"] for r in rows])
        top = max(top, float(max(predicted.max(), realised.max())) * 1.1)
        ax.plot(predicted, realised, "o-", ms=4, color=f"C{i}", label=label)
        for r, x, y in zip(rows, predicted, realised):
            ax.annotate(str(r["tick"]), (x, y), textcoords="offset points", xytext=(4, 2), fontsize=7,
                        color=f"C{i}")
    ax.plot([0, top], [0, top], color="0.6", lw=1, ls="--", label="calibrated")
    ax.set_xlabel("predicted chunk error (normalised units)")
    ax.set_ylabel("realised chunk error")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    ax.legend(fontsize=7)


def _trade_off_panel(ax: Axes, rules: Mapping[str, Sequence[tuple[str, Mapping[str, Any]]]], metric: str) -> None:
    """Each rule's evaluations of ``metric`` on one axis, in order of ticks, with their intervals and budgets."""
    marked: dict[tuple[float, float], list[str]] = {}
    for i, (rule, items) in enumerate(rules.items()):
        items = sorted(items, key=lambda item: item[1]["ticks_per_call"]["mean"])
        xs = [item[1]["ticks_per_call"]["mean"] for item in items]
        ys = [item[1][metric]["mean"] for item in items]
        ax.plot(xs, ys, "-", color=f"C{i}", lw=1, alpha=0.6)
        for (budget, summary), x, y in zip(items, xs, ys):
            sx, sy = summary["ticks_per_call"], summary[metric]
            ax.errorbar(x, y, xerr=[[x - sx["ci_low"]], [sx["ci_high"] - x]], yerr=[[y - sy["ci_low"]],
                        [sy["ci_high"] - y]], fmt="o", ms=4, color=f"C{i}", capsize=2, lw=0.8,
                        label=rule if budget == items[0][0] else None)
            marked.setdefault((round(x, 2), round(y, 3)), []).append(_short(budget))
    for (x, y), budgets in marked.items():
        ax.annotate(" / ".join(dict.fromkeys(budgets)), (x, y), textcoords="offset points", xytext=(5, -3),
                    fontsize=6, color="0.3")


def _short(budget: str) -> str:
    """A budget as a short label: 3 significant digits, "never halts" for None, "tol. 0.04" for a calibrated
    tolerance (each seed at its own budget)."""
    if budget.startswith(TOLERANCE_PREFIX):
        return f"tol. {budget[len(TOLERANCE_PREFIX):]}"
    try:
        return f"{float(budget):.3g}"
    except ValueError:
        return "never halts" if budget == "None" else budget
