"""Tick-wise latent traces of CTM-ACT model calls: what the neurons do while the policy "thinks".

Per chosen control step (one model call): a heatmap of post-activations of a neuron subset over ticks, with the
synchronisation events of gated neuron groups marked; the gate of every group per tick; certainty per tick with
the halting threshold and the tick whose chunk was used.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from polibench.evaluation.rollout import EpisodeRecord
from report_gen.figures.style import ACTIVATION_CMAP, PANEL

#: A group fires where its gate reaches 0.5. For sigmoid gating, sigmoid((s - theta) / tau) >= 0.5 exactly when
#: the group's synchronisation s passes its learnt threshold theta; threshold and top-k gates are 0 or 1. So 0.5 in
#: gate space is every gating module's own threshold crossing.
GATE_THRESHOLD = 0.5
N_NEURONS = 64


def default_calls(record: EpisodeRecord, count: int = 3) -> list[int]:
    """``count`` model calls spread evenly over the episode (first and last included)."""
    n = len(record.call_steps)
    if n == 0:
        raise ValueError(f"episode of seed {record.seed} made no model call")
    return sorted({int(i) for i in np.linspace(0, n - 1, min(count, n)).round()})


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


def tick_traces_figure(record: EpisodeRecord, calls: Sequence[int] | None = None, n_neurons: int = N_NEURONS,
                       halt_threshold: float | None = None, gate_threshold: float = GATE_THRESHOLD) -> Figure:
    """Post-activations, gates and certainty over ticks for the model calls ``calls`` (indices into the episode's
    calls; default: three spread over it). ``halt_threshold`` (the halting rule's, if halting was on) is drawn on
    the certainty panels."""
    internals = record.internals
    if "post_activations" not in internals:
        raise ValueError("this recording has no CTM internals: record a CTM-ACT run with evaluate(record=True)")
    calls = list(calls) if calls is not None else default_calls(record)
    post, gates, certainty = internals["post_activations"], internals["gates"], internals["certainty"]
    neurons = top_variance_neurons(post[calls], n_neurons)
    group_size = post.shape[-1] // gates.shape[-1]
    fig = Figure(figsize=(PANEL * 1.2 * len(calls), PANEL * 2.4), layout="constrained")
    axes = fig.subplots(3, len(calls), squeeze=False, gridspec_kw={"height_ratios": [3, 1.2, 1.2]})
    vmax = float(np.nanmax(np.abs(post[calls][..., neurons]))) or 1.0
    # gating.none keeps every group open at a constant gate: there is no threshold to cross, so no events
    gated = bool(np.nanmax(gates[calls]) > np.nanmin(gates[calls]))
    for col, call in enumerate(calls):
        ticks_run = int(np.sum(~np.isnan(certainty[call])))
        ticks = np.arange(1, ticks_run + 1)
        used, why = chosen_tick(certainty[call], int(internals["halt_tick"][call]))
        events = sync_events(gates[call, :ticks_run], gate_threshold) if gated else np.zeros((0, 0), dtype=bool)
        heat, gate_ax, cert_ax = axes[:, col]
        image = heat.imshow(post[call, :ticks_run][:, neurons].T, aspect="auto", cmap=ACTIVATION_CMAP,
                            vmin=-vmax, vmax=vmax, interpolation="nearest",
                            extent=(0.5, ticks_run + 0.5, len(neurons), 0))
        rows = np.arange(len(neurons))
        for t, group in zip(*np.nonzero(events)):  # mark every shown neuron of a group at its sync event
            member = rows[neurons // group_size == group]
            heat.scatter(np.full(len(member), t + 1), member + 0.5, marker="|", s=30, c="k", linewidths=0.8)
        heat.set_title(f"control step {record.call_steps[call]} (call {call})", fontsize=9)
        heat.set_ylabel(f"neuron (top-{len(neurons)} variance)" if col == 0 else "")
        heat.set_yticks([])
        if gated:
            gate_ax.imshow(gates[call, :ticks_run].T, aspect="auto", cmap="Greys", vmin=0, vmax=1,
                           interpolation="nearest", extent=(0.5, ticks_run + 0.5, gates.shape[-1], 0))
            ev_t, ev_g = np.nonzero(events)
            gate_ax.scatter(ev_t + 1, ev_g + 0.5, marker="o", s=14, facecolors="none", edgecolors="tab:red")
        else:
            gate_ax.text(0.5, 0.5, f"no gating: every group open (gate {float(np.nanmax(gates)):g})",
                         transform=gate_ax.transAxes, ha="center", va="center", fontsize=8)
            gate_ax.set_xlim(0.5, ticks_run + 0.5)
        gate_ax.set_ylabel("gate group" if col == 0 else "")
        gate_ax.set_yticks([])
        cert_ax.plot(ticks, certainty[call, :ticks_run], marker="o", ms=3, color="k")
        cert_ax.axvline(used, color="tab:red", ls="--", lw=1, label=f"chunk used: tick {used} ({why})")
        if halt_threshold is not None:
            cert_ax.axhline(halt_threshold, color="tab:gray", ls=":", lw=1, label="halting threshold")
        cert_ax.set_ylim(-0.05, 1.05)
        cert_ax.set_xlim(0.5, ticks_run + 0.5)
        cert_ax.set_xlabel("tick")
        cert_ax.set_ylabel("certainty" if col == 0 else "")
        cert_ax.legend(fontsize=7, loc="lower right")
        for ax in (heat, gate_ax):
            ax.set_xticks(ticks)
    fig.colorbar(image, ax=axes[0, :].tolist(), label="post-activation", fraction=0.03)
    events_note = f": | and o mark a neuron group's gate crossing {gate_threshold}" if gated else " (ungated core)"
    fig.suptitle(f"CTM ticks, seed {record.seed}{events_note}", fontsize=10)
    return fig
