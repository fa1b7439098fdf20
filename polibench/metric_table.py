"""Every metric polibench reports, in one table: name, words, unit, number format, better direction, where shown.

The evaluation (:mod:`polibench.evaluation.metrics`), the run table (:mod:`polibench.summary`), the terminal
(:mod:`polibench.console`), sweep results (:mod:`polibench.sweep.aggregate`) and the study's RESULTS.md and paper
all read it, so a value reads the same everywhere and a new metric is a row here (plus its computation in
``episode_metrics``).
Pure data, so reading it costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Format of a value whose metric sets none (or that is not in the table).
DEFAULT_FORMAT = "{:.3g}"


@dataclass(frozen=True)
class Metric:
    """One metric of an evaluation summary.

    Args:
        name: its key in metrics.json summaries and sweep results.
        episode: its key in episodes.jsonl rows; None for a metric over every step of the evaluation pooled.
        label: its words in sentences.
        heading: its column title in markdown tables (README, results.md), terminal tables and chart panels.
        unit: unit of a value ("" for fractions and counts).
        fmt: format of a value in tables and sentences.
        better: +1 higher is better, -1 lower is better, 0 not ranked (ties are marked on ranked metrics only).
        pooled: the pooled metric that states this per-episode one for the whole evaluation (the terminal shows
            only that one).
    """

    name: str
    episode: str | None
    label: str
    heading: str
    unit: str = ""
    fmt: str = DEFAULT_FORMAT
    better: Literal[-1, 0, 1] = 0
    pooled: str | None = None


#: Per-episode metrics in the order ``episode_metrics`` returns them (and summaries list them), then pooled ones.
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("success_rate", "success", "success rate", "success", fmt="{:.2f}", better=1),
    Metric("avg_max_coverage", "max_coverage", "average max coverage", "avg max coverage", fmt="{:.3f}", better=1),
    Metric("avg_max_reward", "max_reward", "average max reward", "avg max reward", fmt="{:.3f}", better=1),
    Metric("jerk", "jerk", "jerk", "jerk (px/step³)²", unit="px²/step⁶", fmt="{:.1f}", better=-1),
    Metric("action_change", "action_change", "action change", "action change (px/step)", unit="px/step",
           fmt="{:.2f}", better=-1),
    Metric("chunk_jump", "chunk_jump", "chunk jump", "chunk jump (px)", unit="px", fmt="{:.2f}", better=-1),
    Metric("within_chunk_change", "within_chunk_change", "action change within a chunk",
           "within-chunk change (px/step)", unit="px/step"),
    Metric("n_steps", "n_steps", "steps per episode", "steps / episode"),
    Metric("model_calls", "model_calls", "model calls per episode", "model calls / episode", fmt="{:.1f}"),
    Metric("ticks_per_call", "ticks_per_call", "ticks per call", "ticks / call", fmt="{:.2f}"),
    Metric("latency_median_ms", "latency_median_ms", "median latency per step of an episode",
           "episode latency median (ms/step)", unit="ms", pooled="latency_step_median_ms"),
    Metric("latency_p95_ms", "latency_p95_ms", "95th-percentile latency per step of an episode",
           "episode latency p95 (ms/step)", unit="ms", pooled="latency_step_p95_ms"),
    Metric("latency_per_call_ms", "latency_per_call_ms", "latency per model call", "latency (ms/model call)",
           unit="ms", fmt="{:.1f}"),
    Metric("latency_step_mean_ms", None, "mean latency per step", "latency mean (ms/step)", unit="ms"),
    Metric("latency_step_median_ms", None, "median latency per step", "latency median (ms/step)", unit="ms",
           fmt="{:.3f}"),
    Metric("latency_step_p95_ms", None, "95th-percentile latency per step", "latency p95 (ms/step)", unit="ms",
           fmt="{:.2f}"),
)}

View = Literal["run_table", "terminal", "sweep_table", "sweep_terminal", "sweep_chart"]

#: Where metrics are shown, each place's metrics in its column order (a place shows those a result measured).
VIEWS: dict[View, tuple[str, ...]] = {
    # `polibench table` (README): every headline number of a run
    "run_table": ("success_rate", "avg_max_coverage", "avg_max_reward", "jerk", "action_change", "chunk_jump",
                  "latency_step_median_ms", "latency_step_p95_ms", "latency_per_call_ms", "model_calls",
                  "ticks_per_call"),
    # the end-of-run / `polibench eval` table leads with these; the other measured metrics follow alphabetically
    "terminal": ("success_rate", "avg_max_coverage", "avg_max_reward", "jerk", "action_change", "chunk_jump",
                 "latency_step_mean_ms", "latency_step_median_ms", "latency_step_p95_ms", "latency_per_call_ms",
                 "model_calls", "ticks_per_call"),
    # a sweep's results.md, its terminal table and its bar chart (panels in [0, 1])
    "sweep_table": ("success_rate", "avg_max_coverage", "avg_max_reward", "jerk", "action_change", "chunk_jump",
                    "ticks_per_call"),
    "sweep_terminal": ("success_rate", "avg_max_coverage", "avg_max_reward", "ticks_per_call"),
    "sweep_chart": ("success_rate", "avg_max_coverage", "avg_max_reward"),
}

#: Metrics a variant can be best at, with the better direction (+1 higher, -1 lower).
RANKED: dict[str, int] = {m.name: m.better for m in METRICS.values() if m.better}


def fmt_of(name: str) -> str:
    """The number format of metric ``name`` (the default for names the table does not know)."""
    metric = METRICS.get(name)
    return metric.fmt if metric else DEFAULT_FORMAT
