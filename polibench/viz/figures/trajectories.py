"""Runs side by side on the same seeds: agent path and T pose over time in the plane, smoothness beside them, and
a side-by-side rollout animation rendered by gym-pusht."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import imageio.v2 as imageio
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from polibench.evaluation.metrics import bootstrap_ci
from polibench.evaluation.rollout import VIDEO_FPS, EpisodeRecord
from polibench.io import atomic_write
from polibench.viz.figures.plane import draw_agent, draw_goal, draw_t, setup_plane
from polibench.viz.figures.render import render_states
from polibench.viz.figures.style import BLOCK_COLOUR, REPORT_MAX_HEIGHT, REPORT_WIDTH, report_figure

SMOOTHNESS = (("jerk", "jerk (px/step³)²"), ("action_change", "action change (px/step)"),
              ("chunk_jump", "chunk jump (px)"))
N_POSES = 6  # T poses drawn per episode, evenly spaced in time


def _by_seed(episodes: Sequence[EpisodeRecord]) -> dict[int, EpisodeRecord]:
    return {ep.seed: ep for ep in episodes}


def common_seeds(runs: Mapping[str, Sequence[EpisodeRecord]]) -> list[int]:
    """Seeds every run recorded, in the first run's order."""
    seeds = [ep.seed for ep in next(iter(runs.values()))]
    shared = [s for s in seeds if all(s in _by_seed(eps) for eps in runs.values())]
    if not shared:
        raise ValueError(f"the runs {list(runs)} share no recorded seed: record them with the same seeds")
    return shared


def _draw_episode(ax: Axes, ep: EpisodeRecord, colour: str) -> None:
    """Goal, the T at N_POSES times and the agent path, both darkening with time; start and end discs."""
    draw_goal(ax, ep.goal_pose)
    times = np.linspace(0, len(ep.block_pose) - 1, N_POSES).round().astype(int)
    for k, t in enumerate(times):
        draw_t(ax, ep.block_pose[t], facecolor="none", edgecolor=BLOCK_COLOUR, lw=1.0,
               alpha=0.25 + 0.75 * k / (N_POSES - 1))
    path = ep.agent_pos
    fade = np.linspace(0.2, 1.0, max(len(path) - 1, 1))
    ax.add_collection(LineCollection(np.stack([path[:-1], path[1:]], axis=1), lw=1.0, zorder=2,
                                     colors=[to_rgba(colour, a) for a in fade]))
    draw_agent(ax, path[0], facecolor="none", edgecolor=colour, lw=1.2, zorder=3)
    draw_agent(ax, path[-1], facecolor=colour, edgecolor="k", lw=0.8, zorder=3)
    setup_plane(ax)


@report_figure
def trajectory_comparison_figure(runs: Mapping[str, Sequence[EpisodeRecord]],
                                 smoothness: Mapping[str, Sequence[Mapping[str, Any]]],
                                 colours: Mapping[str, str], seeds: Sequence[int] | None = None) -> Figure:
    """Rows: seeds, columns: runs (T outlines darken with time; agent path from hollow to filled disc); last
    column: each run's mean smoothness metrics with 95% bootstrap intervals over the episode rows in
    ``smoothness`` (name -> per-episode rows)."""
    seeds = list(seeds) if seeds is not None else common_seeds(runs)
    names = list(runs)
    fig = Figure(figsize=(REPORT_WIDTH, REPORT_MAX_HEIGHT), layout="constrained")
    grid = fig.add_gridspec(len(seeds) * len(SMOOTHNESS), len(names) + 1, width_ratios=[1] * len(names) + [2.0])
    for row, seed in enumerate(seeds):
        for col, name in enumerate(names):
            ax = fig.add_subplot(grid[row * len(SMOOTHNESS) : (row + 1) * len(SMOOTHNESS), col])
            ep = _by_seed(runs[name])[seed]
            _draw_episode(ax, ep, colours[name])
            if row == 0:
                ax.set_title(name, color=colours[name])
            if col == 0:
                ax.set_ylabel(f"seed {seed}")
            ax.set_xlabel(f"max coverage {ep.coverage.max():.2f}", labelpad=2)
    for k, (metric, label) in enumerate(SMOOTHNESS):  # the grid has len(seeds) rows per metric
        ax = fig.add_subplot(grid[k * len(seeds) : (k + 1) * len(seeds), -1])
        stats = [bootstrap_ci([r.get(metric) for r in smoothness[name]]) for name in names]
        means = [s["mean"] for s in stats]
        err = [[s["mean"] - s["ci_low"] for s in stats], [s["ci_high"] - s["mean"] for s in stats]]
        ax.barh(range(len(names)), means, xerr=err, capsize=3, color=[colours[n] for n in names])
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set_xlabel(label)
    fig.suptitle("Trajectories from the same start seeds (goal T green; T poses and agent path darken with time)")
    return fig


def side_by_side_frames(runs: Mapping[str, EpisodeRecord], step_stride: int = 1) -> list[np.ndarray]:
    """Frames with every run's rendered state side by side; a run that ended early holds its last frame."""
    rendered = [[_labelled(frame, name) for frame in render_states(ep.agent_pos[::step_stride],
                                                                   ep.block_pose[::step_stride])]
                for name, ep in runs.items()]
    length = max(len(frames) for frames in rendered)
    return [np.concatenate([frames[min(i, len(frames) - 1)] for frames in rendered], axis=1) for i in range(length)]


def _labelled(frame: np.ndarray, text: str) -> np.ndarray:
    image = Image.fromarray(frame)
    ImageDraw.Draw(image).text((6, 4), text, fill=(0, 0, 0))
    return np.asarray(image)


def save_rollout_gif(runs: Mapping[str, EpisodeRecord], path: str | Path, step_stride: int = 2) -> Path:
    """A looping GIF of :func:`side_by_side_frames` (real time: gym-pusht's 10 Hz over the stride), atomically."""
    frames = side_by_side_frames(runs, step_stride)
    duration = 1000 * step_stride / VIDEO_FPS

    def write(tmp: Path) -> None:
        imageio.mimsave(tmp, frames, format="GIF", duration=duration, loop=0)

    return atomic_write(path, write)
