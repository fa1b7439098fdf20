"""Result charts for reports and notebooks: per-variant bars with 95% intervals and a latency/success scatter.

Inputs are *entries*: ``{"name": str, "metrics": {metric: {"mean", "ci_low", "ci_high", ...}}}``. A sweep's
results.json lists them under ``variants`` (with ``vs_best`` tie marks and ``seed_means``); a single run becomes
one entry through :func:`run_entry`. Figures are plain matplotlib ``Figure`` objects on the Agg canvas, so nothing
touches pyplot's global state and they render headless.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from polibench.io import read_json
from polibench.rundir import RunDir
from polibench.viz.figures.style import REPORT_MAX_HEIGHT, REPORT_WIDTH, report_figure

Entry = Mapping[str, Any]

#: Metric -> (axis label, log scale). Latency spans three orders of magnitude across policies (ACT to DDPM).
LABELS: dict[str, tuple[str, bool]] = {
    "success_rate": ("success rate", False),
    "avg_max_coverage": ("avg max coverage", False),
    "avg_max_reward": ("avg max reward", False),
    "latency_per_call_ms": ("latency per model call (ms)", True),
    "jerk": ("jerk (lower: smoother)", False),
}
BAR_METRICS = ("success_rate", "avg_max_coverage", "latency_per_call_ms")
#: Metrics that live in [0, 1] (their axes are drawn over all of it).
UNIT_INTERVAL = ("success_rate", "avg_max_coverage", "avg_max_reward")


def sweep_entries(sweep_dir: Path) -> list[dict[str, Any]]:
    """The variants of a finished sweep (its results.json)."""
    path = Path(sweep_dir) / "results.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the sweep's `polibench ablate ...` command again to "
                                "finish and aggregate it (the command is recorded in its sweep.json)")
    return read_json(path)["variants"]


def run_entry(run_dir: Path, name: str | None = None) -> dict[str, Any]:
    """One run's evaluation (eval/metrics.json) as an entry named after the run directory."""
    path = RunDir(run_dir).metrics_path
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: {run_dir} is not an evaluated run directory")
    summary = read_json(path)["summary"]
    metrics = {k: s for k, s in summary.items() if isinstance(s, dict) and _finite(s.get("mean"))}
    return {"name": name or Path(run_dir).name, "metrics": metrics}


def interval_bars(entries: Sequence[Entry], metrics: Sequence[str] = BAR_METRICS, title: str | None = None) -> Figure:
    """One panel per metric: bar at the mean, error bar over the 95% interval, dots at seed means.

    Grey bars are variants marked worse than the best (``vs_best``); metrics no entry measured are left out.
    """
    shown = _measured(entries, metrics)
    fig = Figure(figsize=(_bar_width(entries) * len(shown), 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    for ax, metric in zip(fig.subplots(1, len(shown), squeeze=False)[0], shown):
        _bar_panel(ax, entries, metric)
    fig.suptitle(title or BARS_TITLE)
    return fig


def latency_success_scatter(entries: Sequence[Entry], title: str | None = None) -> Figure:
    """Success rate against latency per model call (log x), both with 95% intervals, one labelled point each."""
    fig = Figure(figsize=(5.5, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    _latency_panel(fig.subplots(), entries)
    fig.axes[0].set_title(title or "success vs latency per model call (95% intervals)")
    return fig


@report_figure
def comparison_figure(entries: Sequence[Entry], metrics: Sequence[str], title: str | None = None) -> Figure:
    """A comparison as one figure at the report's width: the interval bars of ``metrics`` side by side and, where
    latency was measured, success against time per model call on the right, its points named in a legend below it
    (drawn at the width it is printed at, so no label runs past the figure and no page holds a narrow strip)."""
    shown = _measured(entries, metrics)
    latency = shows_latency(entries)
    widths = [1.0] * len(shown) + ([1.5] if latency else [])
    fig = Figure(figsize=(REPORT_WIDTH, min(REPORT_MAX_HEIGHT, 2.4 + 0.12 * len(entries))), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(widths), squeeze=False, gridspec_kw={"width_ratios": widths})[0]
    for ax, metric in zip(axes, shown):
        _bar_panel(ax, entries, metric)
    if latency:
        _latency_panel(axes[-1], entries, annotate=False)
        axes[-1].set_title("success vs time per call")
        axes[-1].set_xlabel("ms per model call (log)")
    if title:  # the report's caption says what the marks mean; a long title would be cut at this width
        fig.suptitle(title)
    return fig


BARS_TITLE = "mean and 95% interval per variant (grey: worse than the best; dots: seed means)"


def shows_latency(entries: Sequence[Entry]) -> bool:
    """Whether :func:`comparison_figure` draws its success-against-latency panel (for captions that describe it)."""
    return any(_stat(e, "latency_per_call_ms") and _stat(e, "success_rate") for e in entries)


def _measured(entries: Sequence[Entry], metrics: Sequence[str]) -> list[str]:
    """The metrics some entry measured, in order; an error naming them where none is."""
    shown = [m for m in metrics if any(_stat(e, m) for e in entries)]
    if not shown:
        raise ValueError(f"none of {list(metrics)} is measured by {[e['name'] for e in entries]}")
    return shown


def _bar_width(entries: Sequence[Entry]) -> float:
    """Inches per bar panel: room for every variant's rotated name."""
    return max(3.2, 0.55 * len(entries) + 1.6)


def _bar_panel(ax: Any, entries: Sequence[Entry], metric: str) -> None:
    """One metric's bars: mean, 95% interval, seed-mean dots; grey where marked worse than the best."""
    names = [str(e["name"]) for e in entries]
    x = np.arange(len(names))
    label, log = LABELS.get(metric, (metric, False))
    stats = [_stat(e, metric) for e in entries]
    mean = np.array([s["mean"] if s else np.nan for s in stats])
    err = np.array([[m - s["ci_low"], s["ci_high"] - m] if s else [np.nan, np.nan] for m, s in zip(mean, stats)])
    colors = ["C7" if s and s.get("vs_best") == "worse" else "C0" for s in stats]
    ax.bar(x, mean, yerr=err.T.tolist(), color=colors, capsize=4)  # lists: numpy 2 warns on (2, 1) arrays
    for xi, s in zip(x, stats):
        seeds = [v for v in (s or {}).get("seed_means", []) if _finite(v)]
        ax.scatter([xi] * len(seeds), seeds, color="k", s=10, zorder=3)
    # steeper for many bars, whose long names would otherwise run into each other
    ax.set_xticks(x, names, rotation=30 if len(names) <= 3 else 60, ha="right", rotation_mode="anchor")
    ax.set_title(label)
    if log:
        ax.set_yscale("log")
    elif metric in UNIT_INTERVAL:
        ax.set_ylim(0.0, 1.05)
    else:
        ax.set_ylim(bottom=0.0)


def _latency_panel(ax: Any, entries: Sequence[Entry], annotate: bool = True) -> None:
    """Success against latency per model call (log x), both with 95% intervals, one point per entry, labelled
    beside it or (``annotate=False``, for points that crowd a small panel) in a legend below the panel."""
    points = [(e["name"], _stat(e, "latency_per_call_ms"), _stat(e, "success_rate")) for e in entries]
    points = [p for p in points if p[1] and p[2]]
    if not points:
        raise ValueError("no entry has both latency_per_call_ms and success_rate")
    for i, (name, lat, succ) in enumerate(points):
        ax.errorbar([lat["mean"]], [succ["mean"]],
                    xerr=[[lat["mean"] - lat["ci_low"]], [lat["ci_high"] - lat["mean"]]],
                    yerr=[[succ["mean"] - succ["ci_low"]], [succ["ci_high"] - succ["mean"]]],
                    fmt="o", color=f"C{i % 10}", capsize=3, label=str(name))
        if annotate:
            ax.annotate(str(name), (lat["mean"], succ["mean"]), textcoords="offset points", xytext=(5, 5),
                        fontsize=8)
    if not annotate:  # below the panel, where it covers no point
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks overlap on a short log axis
    ax.set_xlabel(LABELS["latency_per_call_ms"][0] + ", log scale")
    ax.set_ylabel(LABELS["success_rate"][0])
    ax.set_ylim(-0.05, 1.05)
    ax.grid(True, which="both", alpha=0.3)


FOREST_METRICS = ("success_rate", "avg_max_coverage", "jerk")
#: Metric -> panel title for the forest plot (jerk's unit is long; the table gives it).
FOREST_TITLES = {"success_rate": "success", "avg_max_coverage": "coverage", "jerk": "jerk (lower: smoother)",
                 "latency_per_call_ms": "ms per call"}


def forest_figure(groups: Sequence[tuple[str, Sequence[Entry]]], metrics: Sequence[str] = FOREST_METRICS,
                  width: float = 7.0) -> Figure:
    """Many small ablations in one figure: one row per variant, grouped under its sweep's label, one panel per
    metric with the mean and 95% interval. The first variant of each group (its base) is drawn hollow and its mean
    as a dotted line across the group, so each change reads against the configuration it changed."""
    rows: list[tuple[str, Entry | None, bool]] = []  # (label, entry or None for a group heading, is base)
    for label, entries in groups:
        rows.append((label, None, False))
        rows += [(str(e["name"]), e, i == 0) for i, e in enumerate(entries)]
    shown = [m for m in metrics if any(e is not None and _stat(e, m) for _, e, _ in rows)]
    if not shown:
        raise ValueError(f"none of {list(metrics)} is measured by the given entries")
    fig = Figure(figsize=(width, 0.6 + 0.2 * len(rows)), layout="constrained")
    FigureCanvasAgg(fig)
    y = -np.arange(len(rows), dtype=float)
    axes = fig.subplots(1, len(shown), sharey=True, squeeze=False)[0]
    for ax, metric in zip(axes, shown):
        base_mean = None
        for yi, (_, entry, is_base) in zip(y, rows):
            if entry is None:  # a group heading: the next group has its own base
                base_mean = None
                continue
            stat = _stat(entry, metric)
            if stat is None:
                continue
            colour = "C3" if stat.get("vs_best") == "worse" else "C0"
            ax.errorbar([stat["mean"]], [yi], xerr=[[stat["mean"] - stat["ci_low"]], [stat["ci_high"] - stat["mean"]]],
                        fmt="o", ms=4, color=colour, mfc="white" if is_base else colour, capsize=2, lw=1)
            if is_base:
                base_mean = stat["mean"]
            elif base_mean is not None:
                ax.plot([base_mean, base_mean], [yi - 0.4, yi + 1.4], ls=":", color="0.5", lw=0.8)
        ax.set_title(FOREST_TITLES.get(metric, LABELS.get(metric, (metric, False))[0]), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].set_yticks(y, [label for label, _, _ in rows], fontsize=7)
    for tick, (_, entry, _) in zip(axes[0].get_yticklabels(), rows):
        if entry is None:
            tick.set_fontweight("bold")
    axes[0].set_ylim(y[-1] - 0.6, 0.6)
    return fig


def to_png(fig: Figure, dpi: int = 110) -> bytes:
    """PNG bytes of a figure, for notebooks (IPython shows Agg figures only as text)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _stat(entry: Entry, metric: str) -> Mapping[str, Any] | None:
    """The metric's stat when it has a finite mean and interval, else None."""
    s = entry["metrics"].get(metric)
    if not s or not all(_finite(s.get(k)) for k in ("mean", "ci_low", "ci_high")):
        return None
    return s


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
