"""Adaptive compute: how many ticks CTM-ACT spends per model call, on easy and hard starts and along episodes.

Difficulty of an episode is its start: the block's distance to the goal and its angle difference to the goal
angle. Episodes are split easy / hard at the median of each measure over the recorded episodes.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from polibench.evaluation.rollout import EpisodeRecord
from report_gen.figures.style import EASY_HARD_COLOURS, PANEL


def start_difficulty(record: EpisodeRecord) -> tuple[float, float]:
    """(distance in px, absolute angle difference in degrees, wrapped to [0, 180]) of the start block to the goal."""
    offset = record.block_pose[0] - record.goal_pose
    angle = np.angle(np.exp(1j * offset[2]))  # the T has no rotational symmetry: wrap to (-pi, pi]
    return float(np.hypot(*offset[:2])), float(np.degrees(abs(angle)))


def split_easy_hard(values: Sequence[float]) -> np.ndarray:
    """True where hard: strictly above the median (ties and a single episode count as easy)."""
    values = np.asarray(values, dtype=np.float64)
    return values > np.median(values)


def adaptive_compute_figure(episodes: Sequence[EpisodeRecord], max_ticks: int | None = None) -> Figure:
    """Histograms of ticks per call for easy vs hard starts (by distance, by angle) and ticks along each episode."""
    if not any(len(ep.ticks) for ep in episodes):
        raise ValueError("these episodes recorded no ticks: adaptive compute needs a CTM-ACT run")
    max_ticks = max_ticks or int(max(ep.ticks.max() for ep in episodes if len(ep.ticks)))
    difficulty = np.array([start_difficulty(ep) for ep in episodes])
    bins = np.arange(0.5, max_ticks + 1.5)
    fig = Figure(figsize=(PANEL * 3.4, PANEL), layout="constrained")
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.4]})
    for ax, column, name, unit in ((axes[0], 0, "distance to goal", "px"), (axes[1], 1, "angle to goal", "deg")):
        hard = split_easy_hard(difficulty[:, column])
        threshold = np.median(difficulty[:, column])
        for is_hard, colour in zip((False, True), EASY_HARD_COLOURS):
            chosen = [ep.ticks for ep, h in zip(episodes, hard) if h == is_hard]
            ticks = np.concatenate(chosen) if chosen else np.zeros(0)
            label = f"{'hard' if is_hard else 'easy'} ({'>' if is_hard else '<='} {threshold:.0f} {unit}; " \
                    f"{len(chosen)} ep, mean {ticks.mean() if ticks.size else float('nan'):.2f})"
            ax.hist(ticks, bins=bins, density=True, alpha=0.6, color=colour, label=label)
        ax.set_xticks(range(1, max_ticks + 1))
        ax.set_xlabel("ticks used per model call")
        ax.set_title(f"split by start {name}", fontsize=9)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("fraction of calls")
    norm = Normalize(difficulty[:, 0].min(), max(difficulty[:, 0].max(), difficulty[:, 0].min() + 1.0))
    cmap = colormaps["viridis"]
    for ep, distance in zip(episodes, difficulty[:, 0]):
        axes[2].plot(ep.call_steps, ep.ticks, marker=".", lw=1, color=cmap(norm(distance)), alpha=0.8)
    axes[2].set_ylim(0.5, max_ticks + 0.5)
    axes[2].set_xlabel("control step of the model call")
    axes[2].set_ylabel("ticks used")
    axes[2].set_title("ticks along each episode", fontsize=9)
    fig.colorbar(ScalarMappable(norm, cmap), ax=axes[2], label="start distance to goal (px)")
    fig.suptitle(f"Adaptive compute over {len(episodes)} episodes", fontsize=10)
    return fig
