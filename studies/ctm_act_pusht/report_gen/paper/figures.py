"""``generated/fig_*``: the paper's figures, drawn from the committed results in the one style of
:mod:`report_gen.paper.style` (colours and markers come from there only).

Each figure shows what a table cannot: success as training goes on (the budget figure), success against what a
model call costs (the call-time figure), and every screen's paired difference with its interval on one axis per
metric (the screens figure). The CTM internals are the committed renderings of ``polibench viz`` (their data, the
step-by-step recordings, are not committed). An interval that would flatten a panel is clipped at the axis with
an arrow and its true end written beside it.
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from polibench.sweep.verdicts import direction_of
from report_gen.figures.budget import collect
from report_gen.paper import numbers, style
from report_gen.paper.formats import METRIC_KEYS, Verdict
from report_gen.paper.screens import SWEEP as SCREENS_SWEEP
from report_gen.paper.screens import Screen, load_screens
from report_gen.paper.sources import CPU, STUDY, PaperError, lookup, read

#: The budget figure: the policies of the last sweep, at every budget the sweeps evaluated them.
BUDGET_SWEEPS = ("headline_6k_500", "headline", "headline_long")
BUDGET_PANELS = (("success_rate", "success rate"), ("avg_max_coverage", "average max coverage"))


@dataclass(frozen=True)
class SpeedPoint:
    """One mark of the call-time figure: the batch-1 call ``call`` of the latency table against the success of
    ``variant`` in ``sweep`` (500 benchmark episodes), drawn as ``policy``'s family; ``sampler`` names a second
    sampler of the same weights, written beside its mark."""

    call: str
    sweep: str
    variant: str
    policy: str = ""
    sampler: str = ""

    @property
    def family_variant(self) -> str:
        return self.policy or self.variant


#: The call-time figure, at parity size: call times from numbers.LATENCY (same weights, fresh processes).
SPEED_POINTS = (
    SpeedPoint("act", "parity_headline", "parity_act"),
    SpeedPoint("ctm_act", "parity_headline", "parity_ctm_act_chosen"),
    SpeedPoint("ctm_act_1tick", "parity_headline_ticks1", "parity_ctm_act_chosen", policy="ctm_act_one_tick"),
    SpeedPoint("dp_ddpm100", "parity_headline", "parity_diffusion", sampler="DDPM-100"),
    SpeedPoint("dp_ddim10", "diffusion_ddim10_long", "10", policy="parity_diffusion", sampler="DDIM-10"),
)
SCREEN_TITLES = ("success (higher is better)", "coverage (higher is better)", "jerk (lower is smoother)")
#: An interval end further from zero than this many times the panel's median end is clipped at the axis.
CLIP_FACTOR = 3.0
#: The committed CTM-internals renderings: (output stem, viz directory under results/cpu, file).
INTERNALS = (("fig_internals_ticks", "viz/shipped", "ticks.png"),
             ("fig_internals_attention", "viz/shipped", "attention.png"))


def _figure(height: float) -> Figure:
    fig = Figure(figsize=(style.TEXT_WIDTH, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _handle(variant: str, family_label: bool = False) -> Line2D:
    """A legend entry of the variant's family (named after the variant, or after the family)."""
    family = style.family_of(variant)
    name = family.label if family_label else style.label(variant)
    return Line2D([], [], color=family.colour, marker=family.marker, label=name)


@style.paper_figure
def budget_figure(study: Path = STUDY) -> Figure:
    """Success and coverage against optimiser steps: the benchmark evaluation of each budget (marks, 95%
    intervals) and the mean learning curve on the check seeds logged during training (lines)."""
    sweeps = [study / CPU / s for s in BUDGET_SWEEPS]
    shown = [v["name"] for v in read(sweeps[-1] / "results.json")["variants"]]
    style.check_distinct(shown)
    policies = collect(sweeps, names=shown)
    fig = _figure(2.9)
    axes = fig.subplots(1, len(BUDGET_PANELS), squeeze=False)[0]
    last = max(b for p in policies for b in p.points)
    for ax, (metric, title) in zip(axes, BUDGET_PANELS):
        for i, policy in enumerate(policies):
            family = style.family_of(policy.name)
            curves = [c[metric] for c in policy.curves]
            if curves and all(np.array_equal(curves[0][0], s) for s, _ in curves):
                ax.plot(curves[0][0], np.nanmean([v for _, v in curves], axis=0), color=family.colour, lw=1.0,
                        alpha=0.8)
            budgets = sorted(b for b, point in policy.points.items() if metric in point)
            stats = [policy.points[b][metric] for b in budgets]
            x = np.array(budgets, dtype=float) + (i - (len(policies) - 1) / 2) * 0.015 * last
            err = [[s["mean"] - s["ci_low"] for s in stats], [s["ci_high"] - s["mean"] for s in stats]]
            ax.errorbar(x, [s["mean"] for s in stats], yerr=err, fmt=family.marker, color=family.colour, ms=5,
                        capsize=2.5, mec=style.BACKGROUND, mew=0.5)
        ax.set(title=title, xlabel="optimiser steps", ylim=(0.0, 1.0), xlim=(0, last * 1.05))
        ax.grid(alpha=0.3)
    key = [Line2D([], [], color=style.NEUTRAL, lw=1.0, label="line: check seeds, mean of runs"),
           Line2D([], [], color=style.NEUTRAL, marker="o", lw=0, label="mark: benchmark seeds, 95% interval")]
    fig.legend(handles=[_handle(p.name) for p in policies] + key, loc="outside lower center", ncols=3,
               frameon=False)
    return fig


def speed_success(point: SpeedPoint, study: Path) -> dict[str, float] | None:
    """The point's success statistics, or None while it cannot have them yet: its sweep is not committed, or is
    gathered as partial (``missing`` runs) and does not hold the variant. A complete sweep without it is an error."""
    path = study / CPU / point.sweep / "results.json"
    if not path.is_file():
        return None
    doc = read(path)
    if doc.get("missing") and point.variant not in [v["name"] for v in doc["variants"]]:
        return None
    return lookup(doc, f"variants/{point.variant}/metrics/success_rate", path)


@style.paper_figure
def speed_figure(study: Path = STUDY) -> Figure:
    """Success on the benchmark episodes against the batch-1 model call of the same weights (median over fresh
    processes; bars: the smallest and largest process median), call time on a log scale (it spans two orders of
    magnitude). A policy not evaluated yet is named in the legend without a mark."""
    style.check_distinct(dict.fromkeys(p.family_variant for p in SPEED_POINTS))
    latency_path = study / numbers.LATENCY
    latency = read(latency_path)
    fig = _figure(2.9)
    ax = fig.subplots()
    handles, pending = {}, []
    for point in SPEED_POINTS:
        family = style.family_of(point.family_variant)
        success = speed_success(point, study)
        if success is None:
            pending.append(point.sampler or style.label(point.family_variant))
            continue
        call = lookup(latency, f"policies/{point.call}", latency_path)
        ms = call["median_ms"]
        ax.errorbar([ms], [success["mean"]], fmt=family.marker, color=family.colour, ms=6, capsize=2.5,
                    xerr=[[ms - call["process_min_ms"]], [call["process_max_ms"] - ms]],
                    yerr=[[success["mean"] - success["ci_low"]], [success["ci_high"] - success["mean"]]])
        if point.sampler:
            ax.annotate(point.sampler, (ms, success["mean"]), xytext=(5, -10), textcoords="offset points",
                        color=style.NEUTRAL)
        handles.setdefault(family, _handle(point.family_variant, family_label=True))
    machine = latency["machine"]
    cpu = machine["cpu"] + (" (AVX-512 BF16)" if machine.get("avx512_bf16") else "")
    ax.set(xscale="log", ylim=(0.0, 1.0), ylabel="success rate, benchmark episodes",
           xlabel=f"batch-1 model call (ms, log scale), {cpu}, {machine['threads']} thread")
    ax.grid(alpha=0.3, which="both")
    legend = list(handles.values())
    if pending:
        legend.append(Line2D([], [], lw=0, label="not evaluated yet: " + ", ".join(pending)))
    fig.legend(handles=legend, loc="outside lower center", ncols=min(len(legend), 4), frameon=False)
    return fig


def clip_limit(ends: Sequence[float]) -> float:
    """The half-width of a panel centred on zero: past :data:`CLIP_FACTOR` times the median distance of the
    interval ends from zero, an end is an outlier and is clipped; otherwise every end fits."""
    distances = [abs(e) for e in ends]
    limit = CLIP_FACTOR * statistics.median(distances)
    return limit if max(distances) > limit else max(distances) * 1.08


def _screen_panel(ax: Axes, screens: Sequence[Screen], metric: str, title: str) -> None:
    comparisons = [s.comparison(metric) for s in screens]
    limit = clip_limit([e for c in comparisons for e in c["difference_ci"]])
    ax.axvline(0.0, color=style.NEUTRAL, lw=0.8)
    for row, (screen, c) in enumerate(zip(screens, comparisons)):
        family = style.family_of(screen.variant)
        verdict = Verdict(direction_of(screen.doc["metrics"][metric]["better"]))(c)
        low, high = (float(np.clip(e, -limit, limit)) for e in c["difference_ci"])
        ax.plot([low, high], [row, row], color=family.colour, lw=1.6)
        ax.plot([c["difference"]], [row], marker=family.marker, ms=6, color=family.colour,
                mfc=family.colour if verdict != "tie" else style.BACKGROUND, lw=0)
        ax.annotate(verdict, (c["difference"], row), xytext=(0, 5), textcoords="offset points", ha="center",
                    va="bottom", color=style.NEUTRAL)
        for end, edge, arrow in ((c["difference_ci"][0], -limit, "<"), (c["difference_ci"][1], limit, ">")):
            if abs(end) > limit:
                ax.plot([edge], [row], marker=arrow, ms=5, color=family.colour, lw=0)
                ax.annotate(f"{end:+.3g}", (edge, row), xytext=(-2 if edge > 0 else 2, -9),
                            textcoords="offset points", ha="right" if edge > 0 else "left", color=style.NEUTRAL)
    ax.set(title=title, xlim=(-limit, limit), ylim=(len(screens) - 0.4, -0.6))
    ax.grid(alpha=0.3, axis="x")


@style.paper_figure
def screens_figure(study: Path = STUDY) -> Figure:
    """Each parity screen's paired difference with its base (variant minus base) and its 95% interval, one panel
    per metric; a filled mark is a verdict of better or worse, a hollow one a tie."""
    screens = load_screens(study / CPU / SCREENS_SWEEP)
    if not screens:
        raise PaperError(f"{study / CPU / SCREENS_SWEEP} has no committed screen verdicts (verdicts_*.json)")
    fig = _figure(0.9 + 0.42 * len(screens))
    axes = fig.subplots(1, len(METRIC_KEYS), sharey=True)
    for ax, (_, metric, _), title in zip(axes, METRIC_KEYS, SCREEN_TITLES):
        _screen_panel(ax, screens, metric, title)
    axes[0].set_yticks(range(len(screens)), [s.title for s in screens])
    axes[len(axes) // 2].set_xlabel("paired difference, screen minus its base, with its 95% interval")
    families = {style.family_of(s.variant): s.variant for s in screens}
    hollow = Line2D([], [], color=style.NEUTRAL, marker="o", mfc=style.BACKGROUND, lw=0, label="hollow mark: tie")
    fig.legend(handles=[_handle(v, family_label=True) for v in families.values()] + [hollow],
               loc="outside lower center", ncols=len(families) + 1, frameon=False)
    return fig


def copy_internals(study: Path, out: Path) -> list[Path]:
    """Copy the committed CTM-internals renderings, each checked against its directory's figures.json."""
    copied = []
    for stem, folder, name in INTERNALS:
        viz = study / CPU / folder
        listed = [f["file"] for f in read(viz / "figures.json")["figures"]]
        if name not in listed:
            raise PaperError(f"{viz / 'figures.json'} does not list {name} (it lists {', '.join(listed)})")
        target = out / f"{stem}{Path(name).suffix}"
        shutil.copyfile(viz / name, target)
        copied.append(target)
    return copied


#: The drawn figures: output stem -> what draws it.
DRAWN = {"fig_budget": budget_figure, "fig_speed": speed_figure, "fig_screens": screens_figure}


def write(out: Path, study: Path = STUDY) -> list[Path]:
    """Draw and copy every figure into ``out``; returns their paths."""
    drawn = [style.save(make(study), out / f"{stem}.pdf") for stem, make in DRAWN.items()]
    return drawn + copy_internals(study, out)

