"""Terminal output: the metrics table every command prints."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from polibench.metric_table import METRICS, VIEWS

console = Console()
#: Errors go to stderr, unwrapped, so they can be grepped and read in logs whole.
err_console = Console(stderr=True, soft_wrap=True)


def _measured(value: Any) -> bool:
    """False for a metric no episode measured (e.g. ticks per call of a policy without ticks): mean None or NaN."""
    mean = value.get("mean") if isinstance(value, dict) else value
    return mean is not None and not (isinstance(mean, float) and math.isnan(mean))


def _pooled_elsewhere(key: str, summary: dict[str, Any]) -> bool:
    """Whether ``key`` is a per-episode statistic that a pooled row of ``summary`` states for the whole evaluation."""
    metric = METRICS.get(key)
    return metric is not None and metric.pooled is not None and metric.pooled in summary


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
    shown = {k: v for k, v in summary.items() if _measured(v) and not _pooled_elsewhere(k, summary)}
    lead = VIEWS["terminal"]
    keys = [k for k in lead if k in shown] + sorted(k for k in shown if k not in lead)
    for key in keys:
        value = shown[key]
        if isinstance(value, dict) and "mean" in value:
            ci = f"[{_fmt(value.get('ci_low'))}, {_fmt(value.get('ci_high'))}]"
            table.add_row(key, _fmt(value["mean"]), ci)
        else:
            table.add_row(key, _fmt(value), "")
    return table
