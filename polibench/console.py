"""Terminal output: the metrics table every command prints."""

from __future__ import annotations

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


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def metrics_table(summary: dict[str, Any], title: str = "evaluation") -> Table:
    """One row per metric: mean and 95% bootstrap interval (scalars are shown as they are)."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("mean", justify="right")
    table.add_column("95% CI", justify="right")
    keys = [k for k in HEADLINE if k in summary] + sorted(k for k in summary if k not in HEADLINE)
    for key in keys:
        value = summary[key]
        if isinstance(value, dict) and "mean" in value:
            ci = f"[{_fmt(value.get('ci_low'))}, {_fmt(value.get('ci_high'))}]"
            table.add_row(key, _fmt(value["mean"]), ci)
        else:
            table.add_row(key, _fmt(value), "")
    return table
