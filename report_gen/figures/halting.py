"""Figures of the halting study: calibration, compute against difficulty, and the accuracy-compute trade-off.

- :func:`reliability_figure`: a calibrated run's predicted against realised chunk error per tick (calibration.json
  of ``polibench calibrate``), on the validation windows it was calibrated on;
- :func:`ticks_by_difficulty_figure`: ticks per call over *every* evaluation episode, grouped by one difficulty
  measure of the start (:func:`start_distance`), with 95% bootstrap intervals;
- :func:`accuracy_compute_figure`: coverage against mean ticks per call as the halting knob moves (one
  evaluation per knob value, e.g. an ``ablate-inference`` sweep over tolerances).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from polibench.data.keypoints import keypoints_from_pose
from polibench.evaluation.env import make_env
from polibench.evaluation.metrics import bootstrap_ci
from report_gen.figures.style import PANEL

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


def difficulty_groups(distance: np.ndarray) -> np.ndarray:
    """0 / 1 / 2 for the easy, medium and hard third of the starts (tercile edges of ``distance``)."""
    edges = np.quantile(distance, [1 / 3, 2 / 3])
    return np.searchsorted(edges, distance, side="right")


def ticks_by_difficulty_figure(episodes: Sequence[Mapping[str, Any]], max_ticks: int, title: str = "") -> Figure:
    """Left: histogram of each episode's mean ticks per call, per difficulty third. Right: mean ticks per call
    and success per third with 95% bootstrap intervals. ``episodes``: rows of eval/episodes.jsonl."""
    rows = [e for e in episodes if e.get("ticks_per_call") is not None]
    if not rows:
        raise ValueError("these episodes recorded no ticks per call: the figure needs a CTM-ACT evaluation")
    ticks = np.array([r["ticks_per_call"] for r in rows], dtype=float)
    group = difficulty_groups(start_distance([r["seed"] for r in rows]))
    fig = Figure(figsize=(PANEL * 2.6, PANEL), layout="constrained")
    FigureCanvasAgg(fig)
    hist, summary = fig.subplots(1, 2)
    bins = np.linspace(1.0, max_ticks, 2 * max_ticks - 1)
    for g, name in enumerate(GROUPS):
        hist.hist(ticks[group == g], bins=bins, histtype="step", lw=1.5, label=f"{name} ({(group == g).sum()})")
    hist.set_xlabel("mean ticks per call (episode)")
    hist.set_ylabel("episodes")
    hist.legend(fontsize=7, title="start", title_fontsize=7)
    success = np.array([float(bool(r["success"])) for r in rows])
    for values, label, offset in ((ticks / max_ticks, "ticks per call / T", -0.1), (success, "success", 0.1)):
        stats = [bootstrap_ci(values[group == g]) for g in range(len(GROUPS))]
        mean = np.array([s["mean"] for s in stats])
        err = np.array([[s["mean"] - s["ci_low"], s["ci_high"] - s["mean"]] for s in stats]).T
        summary.errorbar(np.arange(len(GROUPS)) + offset, mean, yerr=err.tolist(), fmt="o", capsize=4, label=label)
    summary.set_xticks(range(len(GROUPS)), GROUPS)
    summary.set_xlabel("start difficulty (thirds by keypoint distance to the goal)")
    summary.set_ylim(0.0, 1.05)
    summary.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def reliability_figure(calibration: Mapping[str, Any]) -> Figure:
    """Mean predicted against mean realised error per tick (numbers: the tick), with the diagonal of a perfectly
    calibrated rule."""
    rows = calibration["reliability"]
    predicted = np.array([r["predicted"] for r in rows])
    realised = np.array([r["realised"] for r in rows])
    fig = Figure(figsize=(PANEL * 1.2, PANEL * 1.1), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    top = float(max(predicted.max(), realised.max())) * 1.1
    ax.plot([0, top], [0, top], color="0.6", lw=1, ls="--", label="calibrated")
    ax.plot(predicted, realised, "o-", ms=4, label=calibration.get("binding", "halting rule"))
    for r, p, e in zip(rows, predicted, realised):
        ax.annotate(str(r["tick"]), (p, e), textcoords="offset points", xytext=(4, 2), fontsize=7)
    ax.set_xlabel("predicted chunk error (normalised units)")
    ax.set_ylabel("realised chunk error")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.legend(fontsize=7)
    return fig


def accuracy_compute_figure(points: Sequence[tuple[str, Mapping[str, Any]]], metric: str = "avg_max_coverage",
                            max_ticks: int | None = None) -> Figure:
    """``metric`` against mean ticks per call, one point per evaluation (label, its metrics.json summary), with
    95% intervals on both axes."""
    fig = Figure(figsize=(PANEL * 1.5, PANEL * 1.1), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for label, summary in points:
        x, y = summary["ticks_per_call"], summary[metric]
        ax.errorbar(x["mean"], y["mean"], xerr=[[x["mean"] - x["ci_low"]], [x["ci_high"] - x["mean"]]],
                    yerr=[[y["mean"] - y["ci_low"]], [y["ci_high"] - y["mean"]]], fmt="o", capsize=3)
        ax.annotate(label, (x["mean"], y["mean"]), textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax.set_xlabel("mean ticks per call")
    ax.set_ylabel(metric.replace("_", " "))
    if max_ticks:
        ax.set_xlim(0.5, max_ticks + 0.5)
    ax.grid(alpha=0.3)
    return fig
