"""Tick-wise latent traces of CTM-ACT model calls: what the neurons do while the policy "thinks".

Per chosen control step (one model call): a heatmap of post-activations of a neuron subset over ticks; for a gated
core, the synchronisation events of the neuron groups marked on it and the gate of every group per tick (an
ungated core has neither, so that panel is left out); certainty per tick with the halting threshold and the tick
whose chunk was used.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from polibench.evaluation.rollout import EpisodeRecord
from polibench.viz.figures.style import ACTIVATION_CMAP, REPORT_MAX_HEIGHT, REPORT_WIDTH, report_figure

#: A group fires where its gate reaches 0.5. For sigmoid gating, sigmoid((s - theta) / tau) >= 0.5 exactly when
#: the group's synchronisation s passes its learnt threshold theta; threshold and top-k gates are 0 or 1. So 0.5 in
#: gate space is every gating module's own threshold crossing.
GATE_THRESHOLD = 0.5
N_NEURONS = 64


def default_calls(record: EpisodeRecord, count: int = 4) -> list[int]:
    """``count`` model calls spread evenly over the episode (the first and last candidates included); the
    candidates are the calls that ran more than one tick when there are that many, since a call that halted after
    its first tick has nothing to show over ticks, and among them only the first call from each state: an agent
    that stalls sees nearly the same observation again, so its later calls repeat the first one."""
    n = len(record.call_steps)
    if n == 0:
        raise ValueError(f"episode of seed {record.seed} made no model call")
    thinking = np.flatnonzero(np.asarray(record.ticks) > 1)
    pool = _first_from_each_state(record, thinking if len(thinking) >= count else np.arange(n))
    picks = np.linspace(0, len(pool) - 1, min(count, len(pool))).round().astype(int)
    return sorted({int(pool[i]) for i in picks})


def _first_from_each_state(record: EpisodeRecord, calls: np.ndarray) -> np.ndarray:
    """``calls`` without those made from nearly the state of an earlier kept one: agent and block within a pixel,
    the block's angle within 0.01 rad (a stalled agent jitters by a fraction of a pixel)."""
    steps = np.asarray(record.call_steps)[calls]
    state = np.hstack([record.agent_pos[steps], record.block_pose[steps, :2], record.block_pose[steps, 2:] * 100])
    kept: list[int] = []
    for i in range(len(calls)):
        if all(np.abs(state[i] - state[j]).max() >= 1.0 for j in kept):
            kept.append(i)
    return calls[kept]


def is_gated(gates: np.ndarray) -> bool:
    """Whether any neuron group's gate ever closed (below 1) in these gates [..., G]; an ungated core (gating
    none) keeps its one group open at every tick, so it has no synchronisation events to draw."""
    return bool(np.any(np.nan_to_num(gates, nan=1.0) != 1.0))


def top_variance_neurons(post: np.ndarray, count: int = N_NEURONS) -> np.ndarray:
    """Indices of the ``count`` neurons whose post-activations [calls, T, D] vary most over ticks and calls."""
    flat = post.reshape(-1, post.shape[-1])
    variance = np.nanvar(flat, axis=0)
    return np.sort(np.argsort(-variance, kind="stable")[: min(count, len(variance))])


def sync_events(gates: np.ndarray, threshold: float = GATE_THRESHOLD) -> np.ndarray:
    """[T, G] booleans: the group's gate crossed ``threshold`` upwards at this tick (at tick 0: it is above it)."""
    fired = np.nan_to_num(gates, nan=0.0) >= threshold
    before = np.vstack([np.zeros((1, fired.shape[1]), dtype=bool), fired[:-1]])
    return fired & ~before


def chosen_tick(certainty: np.ndarray, halt_tick: int) -> tuple[int, str]:
    """The 1-based tick whose chunk the call executed, as the core picks it: the halting tick, else the most
    certain one; and which of the two."""
    if halt_tick >= 0:
        return halt_tick + 1, "halted"
    return int(np.nanargmax(certainty)) + 1, "most certain"


@report_figure
def tick_traces_figure(record: EpisodeRecord, calls: Sequence[int] | None = None, n_neurons: int = N_NEURONS,
                       halt_threshold: float | None = None, gate_threshold: float = GATE_THRESHOLD) -> Figure:
    """Post-activations, gates (gated cores only) and certainty over ticks for the model calls ``calls`` (indices
    into the episode's calls; default: :func:`default_calls`). ``halt_threshold`` (the halting rule's, if halting
    was on) is drawn on the certainty panels."""
    internals = record.internals
    if "post_activations" not in internals:
        raise ValueError("this recording has no CTM internals: record a CTM-ACT run with evaluate(record=True)")
    calls = list(calls) if calls is not None else default_calls(record)
    post, gates, certainty = internals["post_activations"], internals["gates"], internals["certainty"]
    neurons = top_variance_neurons(post[calls], n_neurons)
    gated = is_gated(gates[calls])
    rows = {"heat": 3.0, "gate": 1.0, "certainty": 1.3} if gated else {"heat": 3.0, "certainty": 1.3}
    fig = Figure(figsize=(REPORT_WIDTH, REPORT_MAX_HEIGHT * (1.0 if gated else 0.85)), layout="constrained")
    axes = dict(zip(rows, fig.subplots(len(rows), len(calls), squeeze=False,
                                       gridspec_kw={"height_ratios": list(rows.values())})))
    vmax = float(np.nanmax(np.abs(post[calls][..., neurons]))) or 1.0
    for col, call in enumerate(calls):
        ticks_run = int(np.sum(~np.isnan(certainty[call])))
        events = sync_events(gates[call, :ticks_run], gate_threshold) if gated else None
        image = _draw_activations(axes["heat"][col], post[call, :ticks_run][:, neurons], neurons,
                                  post.shape[-1] // gates.shape[-1], events, vmax)
        axes["heat"][col].set_title(f"step {record.call_steps[call]} (call {call + 1} of {len(record.call_steps)})")
        if gated:
            _draw_gates(axes["gate"][col], gates[call, :ticks_run], events)
        _draw_certainty(axes["certainty"][col], certainty[call, :ticks_run], int(internals["halt_tick"][call]),
                        halt_threshold)
        for ax in (axes[row][col] for row in rows):
            ax.set_xlim(0.5, ticks_run + 0.5)
            ax.set_xticks(range(1, ticks_run + 1))
    axes["heat"][0].set_ylabel(f"neuron\n(top {len(neurons)} by variance)")
    axes["certainty"][0].set_ylabel("certainty")
    if gated:
        axes["gate"][0].set_ylabel("gate\n(neuron group)")
    fig.colorbar(image, ax=list(axes["heat"]), label="post-activation", fraction=0.04, pad=0.02)
    fig.legend(*axes["certainty"][0].get_legend_handles_labels(), loc="outside lower center", ncols=3, frameon=False)
    note = (f"| and o: a neuron group's gate crosses {gate_threshold} upwards" if gated
            else "ungated core: no synchronisation events")
    fig.suptitle(f"CTM ticks, episode of seed {record.seed} ({note})")
    return fig


def _draw_activations(ax: Axes, post: np.ndarray, neurons: np.ndarray, group_size: int, events: np.ndarray | None,
                      vmax: float) -> AxesImage:
    """Post-activations [ticks, neurons] as a heatmap; each shown neuron of a group marked at its sync events."""
    ticks_run = post.shape[0]
    image = ax.imshow(post.T, aspect="auto", cmap=ACTIVATION_CMAP, vmin=-vmax, vmax=vmax, interpolation="nearest",
                      extent=(0.5, ticks_run + 0.5, len(neurons), 0))
    if events is not None:
        rows = np.arange(len(neurons))
        for t, group in zip(*np.nonzero(events)):
            member = rows[neurons // group_size == group]
            ax.scatter(np.full(len(member), t + 1), member + 0.5, marker="|", s=30, c="k", linewidths=0.8)
    ax.set_yticks([])
    return image


def _draw_gates(ax: Axes, gates: np.ndarray, events: np.ndarray) -> None:
    """Gate per group [ticks, G] (white closed, black open), sync events circled."""
    ax.imshow(gates.T, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest",
              extent=(0.5, gates.shape[0] + 0.5, gates.shape[1], 0))
    ev_t, ev_g = np.nonzero(events)
    ax.scatter(ev_t + 1, ev_g + 0.5, marker="o", s=14, facecolors="none", edgecolors="tab:red")
    ax.set_yticks([])


def _draw_certainty(ax: Axes, certainty: np.ndarray, halt_tick: int, halt_threshold: float | None) -> None:
    """Certainty per tick, the halting threshold, and the tick whose chunk was executed."""
    ticks = np.arange(1, len(certainty) + 1)
    used, why = chosen_tick(certainty, halt_tick)
    ax.plot(ticks, certainty, marker="o", ms=3, color="k", label="certainty")
    ax.axvline(used, color="tab:red", ls="--", lw=1, label="tick whose chunk was executed")
    left = used <= (len(certainty) + 1) / 2  # write beside the line, on the side with room
    ax.text(used + (0.25 if left else -0.25), 0.02, why, ha="left" if left else "right", va="bottom", color="tab:red")
    if halt_threshold is not None:
        ax.axhline(halt_threshold, color="tab:gray", ls=":", lw=1.2, label=f"halting threshold {halt_threshold:g}")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("tick")
