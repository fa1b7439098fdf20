"""Where the CTM core looks at each tick: its attention over the encoder tokens.

Encoder tokens are [latent, then per observation entry in sorted key order, per observation step] (ACT's encoder
and ``polibench.nn.tokenizer``). Keypoints track: one ``agent_pos`` and one ``environment_state`` token per step,
so the memory holds a handful of named tokens and :func:`attention_figure` draws them as heatmaps (ticks by
tokens, one per model call). Pixels track: the image entry gives one token per cell of the backbone's feature map;
the heatmaps sum its cells into one column, and :func:`attention_grid_figure` draws the cells as a grid over the
rendered frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from polibench.evaluation.rollout import EpisodeRecord
from polibench.policy import IMAGE_NDIM
from polibench.viz.figures.plane import draw_agent, setup_plane
from polibench.viz.figures.render import render_states
from polibench.viz.figures.style import ATTENTION_CMAP, PANEL, REPORT_MAX_HEIGHT, REPORT_WIDTH, report_figure
from polibench.viz.figures.ticks import chosen_tick, default_calls

LATENT = "latent"
#: Reader-facing names of the encoder's token entries (other entries show their key).
TOKEN_NAMES = {LATENT: "latent", "agent_pos": "agent", "environment_state": "block", "pixels": "image"}
ANNOTATE_MAX_TICKS = 16  # beyond this many rows the numbers no longer fit their cells
NORM = Normalize(0.0, 1.0)  # the weights of one tick sum to 1 over the tokens


@dataclass(frozen=True)
class TokenLayout:
    """Which encoder tokens belong to which observation entry; ``grid`` is (entry, h, w) for an image entry."""

    slices: dict[str, slice]
    grid: tuple[str, int, int] | None = None
    n_obs_steps: int = 1

    @property
    def n_tokens(self) -> int:
        return max(s.stop for s in self.slices.values())

    def columns(self) -> list[tuple[str, slice]]:
        """(label, tokens) per entry and observation step: the latent, then each entry's tokens of one step (an
        image's feature-map cells together); steps before the current one are labelled t-k."""
        out = [(TOKEN_NAMES[LATENT], self.slices[LATENT])]
        for key, tokens in self.slices.items():
            if key == LATENT:
                continue
            per_step = (tokens.stop - tokens.start) // self.n_obs_steps
            for k in range(self.n_obs_steps):
                age = self.n_obs_steps - 1 - k
                label = TOKEN_NAMES.get(key, key) + (f" t-{age}" if age else "")
                out.append((label, slice(tokens.start + k * per_step, tokens.start + (k + 1) * per_step)))
        return out


@torch.no_grad()
def token_layout(policy: torch.nn.Module) -> TokenLayout:
    """The token layout of an ACT-encoder policy (ACT, CTM-ACT); image grids are measured with one zero image."""
    tokenizer = policy.encoder.tokenizer
    slices, grid, start = {LATENT: slice(0, 1)}, None, 1
    for key in tokenizer.keys:
        shape = policy.spec.obs_shapes[key]
        per_step = 1
        if len(shape) == IMAGE_NDIM:
            backbone = tokenizer.encoders[key].backbone
            h, w = backbone(torch.zeros(1, 3, *shape[:2], device=policy.device)).shape[-2:]
            per_step, grid = h * w, (key, int(h), int(w))
        slices[key] = slice(start, start + per_step * policy.n_obs_steps)
        start = slices[key].stop
    return TokenLayout(slices, grid, policy.n_obs_steps)


def _attention(record: EpisodeRecord, layout: TokenLayout) -> np.ndarray:
    """The recorded attention [calls, T, heads, L], checked against the layout."""
    if "attention" not in record.internals:
        raise ValueError("this recording has no CTM internals: record a CTM-ACT run with evaluate(record=True)")
    attention = record.internals["attention"]
    if attention.shape[-1] != layout.n_tokens:
        raise ValueError(f"attention covers {attention.shape[-1]} tokens, the layout {layout.n_tokens}: "
                         "the layout belongs to another policy")
    return attention


def column_weights(attention: np.ndarray, layout: TokenLayout) -> np.ndarray:
    """Head-averaged attention [..., heads, L] -> weight per :meth:`TokenLayout.columns` entry [..., columns]
    (NaN where the call had halted before the tick)."""
    weights = np.mean(attention, axis=-2)
    return np.stack([weights[..., tokens].sum(axis=-1) for _, tokens in layout.columns()], axis=-1)


@report_figure
def attention_figure(record: EpisodeRecord, layout: TokenLayout, calls: Sequence[int] | None = None) -> Figure:
    """Top: one heatmap per model call in ``calls`` (default: :func:`default_calls`), rows the ticks it ran, columns
    the named encoder tokens, each cell the attention weight (mean over heads; a tick's row sums to 1); the tick
    whose chunk was executed is outlined. Bottom: the first tick of every call of the episode, the shown calls
    marked, to see where in the episode they fall."""
    attention = _attention(record, layout)
    calls = list(calls) if calls is not None else default_calls(record)
    weights = column_weights(attention, layout)  # [calls, T, columns]
    labels = [label for label, _ in layout.columns()]
    fig = Figure(figsize=(REPORT_WIDTH, REPORT_MAX_HEIGHT), layout="constrained")
    grid = fig.add_gridspec(2, len(calls), height_ratios=[3.2, 1])
    image = None
    for col, call in enumerate(calls):
        ax = fig.add_subplot(grid[0, col])
        image = _call_heatmap(ax, weights[call], labels, int(record.internals["halt_tick"][call]),
                              record.internals["certainty"][call])
        ax.set_title(f"step {record.call_steps[call]} (call {call + 1})")
        if col == 0:
            ax.set_ylabel("tick")
    overview = fig.add_subplot(grid[1, :])
    _episode_strip(overview, weights[:, 0], labels, record.call_steps, calls)
    fig.colorbar(image, ax=fig.axes, label="attention weight\n(mean over heads)", fraction=0.03, pad=0.01)
    fig.suptitle(f"CTM attention over the encoder tokens, episode of seed {record.seed}")
    return fig


def _call_heatmap(ax: Axes, weights: np.ndarray, labels: Sequence[str], halt_tick: int,
                  certainty: np.ndarray) -> ScalarMappable:
    """Ticks run x tokens for one call, annotated; the executed tick outlined."""
    ticks_run = int(np.sum(~np.isnan(weights[:, 0])))
    shown = weights[:ticks_run]
    image = ax.imshow(shown, cmap=ATTENTION_CMAP, norm=NORM, aspect="auto", interpolation="nearest",
                      extent=(-0.5, len(labels) - 0.5, ticks_run + 0.5, 0.5))
    if ticks_run <= ANNOTATE_MAX_TICKS:
        for (t, j), value in np.ndenumerate(shown):
            ax.text(j, t + 1, f"{value:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if value < 0.5 else "black")
    used, _ = chosen_tick(certainty, halt_tick)
    ax.add_patch(Rectangle((-0.5, used - 0.5), len(labels), 1, fill=False, edgecolor="tab:cyan", lw=1.5))
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(1, ticks_run + 1))
    return image


def _episode_strip(ax: Axes, first_tick: np.ndarray, labels: Sequence[str], call_steps: np.ndarray,
                   shown: Sequence[int]) -> None:
    """Tokens x calls at each call's first tick (x: the call's control step); the calls drawn above marked."""
    ax.imshow(first_tick.T, cmap=ATTENTION_CMAP, norm=NORM, aspect="auto", interpolation="nearest",
              extent=(-0.5, len(call_steps) - 0.5, len(labels) - 0.5, -0.5))
    ax.set_yticks(range(len(labels)), labels)
    every = max(1, len(call_steps) // 12)
    ax.set_xticks(range(0, len(call_steps), every), [str(s) for s in call_steps[::every]])
    ax.set_xlabel("control step of the model call (tick 1 of every call; ▼: the calls above)")
    ax.scatter(list(shown), np.full(len(shown), -0.5), marker="v", s=30, color="tab:cyan", clip_on=False,
               zorder=3)


@report_figure
def attention_grid_figure(record: EpisodeRecord, layout: TokenLayout, calls: Sequence[int] | None = None,
                          max_ticks: int = 6) -> Figure:
    """Image tracks only: rows model calls, columns ticks (at most ``max_ticks``, spread evenly); the attention
    over the image's feature-map cells (summed over observation steps) drawn over the rendered frame, the agent
    disc coloured by the agent-position token."""
    if layout.grid is None:
        raise ValueError("this policy has no image tokens: draw its attention with attention_figure")
    attention = _attention(record, layout)
    calls = list(calls) if calls is not None else default_calls(record)
    n_ticks = attention.shape[1]
    ticks = sorted({int(t) for t in np.linspace(0, n_ticks - 1, min(max_ticks, n_ticks)).round()})
    steps = record.call_steps[calls]
    frames = render_states(record.agent_pos[steps], record.block_pose[steps])
    key, h, w = layout.grid
    cmap = colormaps[ATTENTION_CMAP]
    weights = np.mean(attention[calls], axis=2)  # [calls shown, T, L]
    cells = weights[..., layout.slices[key]].reshape(*weights.shape[:2], -1, h, w).sum(axis=2)
    agent = weights[..., layout.slices["agent_pos"]].sum(axis=-1)
    norm = Normalize(0.0, float(np.nanmax(cells)) or 1.0)
    side = min(REPORT_WIDTH / len(ticks), REPORT_MAX_HEIGHT / len(calls), PANEL)
    fig = Figure(figsize=(side * len(ticks) + 0.8, side * len(calls)), layout="constrained")
    axes = fig.subplots(len(calls), len(ticks), squeeze=False)
    for row, step in enumerate(steps):
        for col, tick in enumerate(ticks):
            ax = axes[row, col]
            if np.isnan(cells[row, tick]).all():  # this call halted before the tick: nothing to show
                ax.set_axis_off()
                continue
            ax.imshow(frames[row], extent=(0, 512, 512, 0))
            ax.imshow(cells[row, tick], cmap=cmap, norm=norm, alpha=0.55, extent=(0, 512, 512, 0),
                      interpolation="nearest")
            draw_agent(ax, record.agent_pos[step], facecolor=cmap(norm(agent[row, tick])), edgecolor="k", lw=1)
            setup_plane(ax)
            if row == 0:
                ax.set_title(f"tick {tick + 1}")
            if col == 0:
                ax.set_ylabel(f"step {step}")
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes.ravel().tolist(),
                 label="attention weight (mean over heads)", fraction=0.03)
    fig.suptitle(f"CTM attention over the image cells, episode of seed {record.seed}")
    return fig
