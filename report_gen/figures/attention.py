"""Where the CTM core looks at each tick: its attention over the encoder tokens, drawn where the tokens live.

Encoder tokens are [latent, then per observation entry in sorted key order, per observation step] (ACT's encoder
and ``polibench.nn.tokenizer``). Keypoints track: one ``agent_pos`` and one ``environment_state`` token per step,
drawn as the agent disc and the T in the 512 x 512 plane. Pixels track: the image entry gives one token per cell of
the backbone's feature map, drawn as a grid over the rendered frame (the image covers the whole plane).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from polibench.evaluation.rollout import EpisodeRecord
from polibench.policy import IMAGE_NDIM
from report_gen.figures.plane import draw_agent, draw_goal, draw_t, setup_plane
from report_gen.figures.render import render_states
from report_gen.figures.style import ATTENTION_CMAP, BLOCK_COLOUR, PANEL
from report_gen.figures.ticks import default_calls

LATENT = "latent"


@dataclass(frozen=True)
class TokenLayout:
    """Which encoder tokens belong to which observation entry; ``grid`` is (entry, h, w) for an image entry."""

    slices: dict[str, slice]
    grid: tuple[str, int, int] | None = None

    @property
    def n_tokens(self) -> int:
        return max(s.stop for s in self.slices.values())


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
    return TokenLayout(slices, grid)


def _token_weights(attention: np.ndarray, layout: TokenLayout) -> dict[str, np.ndarray]:
    """Head-averaged weights [L] -> weight per entry (summed over its observation steps; an image keeps its grid)."""
    weights = np.nanmean(attention, axis=0)
    out = {key: weights[s].sum() for key, s in layout.slices.items()}
    if layout.grid is not None:
        key, h, w = layout.grid
        out[key] = weights[layout.slices[key]].reshape(-1, h, w).sum(axis=0)
    return out


def attention_figure(record: EpisodeRecord, layout: TokenLayout, calls: Sequence[int] | None = None,
                     max_ticks: int = 10) -> Figure:
    """Rows: model calls (default: first, middle, last); columns: ticks (at most ``max_ticks``, spread evenly).

    Colour is the head-averaged attention weight of a token (0 to the largest weight shown)."""
    if "attention" not in record.internals:
        raise ValueError("this recording has no CTM internals: record a CTM-ACT run with evaluate(record=True)")
    attention = record.internals["attention"]  # [calls, T, heads, L]
    if attention.shape[-1] != layout.n_tokens:
        raise ValueError(f"attention covers {attention.shape[-1]} tokens, the layout {layout.n_tokens}: "
                         "the layout belongs to another policy")
    calls = list(calls) if calls is not None else default_calls(record)
    n_ticks = attention.shape[1]
    ticks = sorted({int(t) for t in np.linspace(0, n_ticks - 1, min(max_ticks, n_ticks)).round()})
    steps = record.call_steps[calls]
    frames = render_states(record.agent_pos[steps], record.block_pose[steps]) if layout.grid else None
    cmap = colormaps[ATTENTION_CMAP]
    norm = Normalize(0.0, float(np.nanmax(np.nanmean(attention[calls], axis=2))) or 1.0)
    fig = Figure(figsize=(PANEL * 0.8 * len(ticks), PANEL * 0.85 * len(calls)), layout="constrained")
    axes = fig.subplots(len(calls), len(ticks), squeeze=False)
    for row, (call, step) in enumerate(zip(calls, steps)):
        for col, tick in enumerate(ticks):
            ax = axes[row, col]
            if np.isnan(attention[call, tick]).all():  # this call halted before the tick: nothing to show
                ax.set_axis_off()
                continue
            weights = _token_weights(attention[call, tick], layout)
            if frames is not None:
                key, _, _ = layout.grid
                ax.imshow(frames[row], extent=(0, 512, 512, 0))
                ax.imshow(weights[key], cmap=cmap, norm=norm, alpha=0.55, extent=(0, 512, 512, 0),
                          interpolation="nearest")
            else:
                draw_goal(ax, record.goal_pose)
                draw_t(ax, record.block_pose[step], facecolor=cmap(norm(weights["environment_state"])),
                       edgecolor=BLOCK_COLOUR, lw=1)
            draw_agent(ax, record.agent_pos[step], facecolor=cmap(norm(weights["agent_pos"])), edgecolor="k", lw=1)
            setup_plane(ax)
            ax.text(0.02, 0.02, f"latent {weights[LATENT]:.2f}", transform=ax.transAxes, fontsize=7, va="bottom")
            if row == 0:
                ax.set_title(f"tick {tick + 1}", fontsize=9)
            if col == 0:
                ax.set_ylabel(f"step {step}", fontsize=9)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes.ravel().tolist(),
                 label="attention weight (mean over heads)", fraction=0.02)
    fig.suptitle(f"CTM attention over encoder tokens, seed {record.seed}", fontsize=10)
    return fig

