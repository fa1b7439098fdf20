"""Terminal output: the metrics table every command prints."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
#: Errors go to stderr, unwrapped, so they can be grepped and read in logs whole.
err_console = Console(stderr=True, soft_wrap=True)

#: Metrics shown first, in this order; the rest follow alphabetically.
HEADLINE = ("success_rate", "avg_max_coverage", "avg_max_reward", "jerk", "action_change", "chunk_jump",
            "latency_step_mean_ms", "latency_step_median_ms", "latency_step_p95_ms",
            "latency_per_call_ms", "model_calls", "ticks_per_call")


#: Per-episode latency statistics that the pooled ``latency_step_*`` rows already show for the whole evaluation.
POOLED_DUPLICATES = {"latency_median_ms": "latency_step_median_ms", "latency_p95_ms": "latency_step_p95_ms"}


def _measured(value: Any) -> bool:
    """False for a metric no episode measured (e.g. ticks per call of a policy without ticks): mean None or NaN."""
    mean = value.get("mean") if isinstance(value, dict) else value
    return mean is not None and not (isinstance(mean, float) and math.isnan(mean))


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def metrics_table(summary: dict[str, Any], title: str = "evaluation") -> Table:
    """One row per metric: mean and 95% bootstrap interval (scalars are shown as they are). Metrics no episode
    measured, and per-episode latencies the pooled rows repeat, are left out."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("mean", justify="right")
    table.add_column("95% CI", justify="right")
    shown = {k: v for k, v in summary.items() if _measured(v) and POOLED_DUPLICATES.get(k) not in summary}
    keys = [k for k in HEADLINE if k in shown] + sorted(k for k in shown if k not in HEADLINE)
    for key in keys:
        value = shown[key]
        if isinstance(value, dict) and "mean" in value:
            ci = f"[{_fmt(value.get('ci_low'))}, {_fmt(value.get('ci_high'))}]"
            table.add_row(key, _fmt(value["mean"]), ci)
        else:
            table.add_row(key, _fmt(value), "")
    return table
