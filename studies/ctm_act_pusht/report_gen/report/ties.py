"""The old report's tie marks: a variant whose 95% interval overlaps the best one's is marked a tie.

Only the report being replaced by the authored paper (issue 39) still reads these marks; the toolkit and RESULTS.md
decide better and worse by the paired verdicts alone (docs/verdicts.md).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from polibench.metric_table import RANKED


def mark_ties(stats: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Copy of ``{variant: {metric: stat}}`` where each ranked metric's stat gains ``vs_best``: ``best``, ``tie``
    (its interval overlaps the best's) or ``worse``."""
    marked = {v: {m: dict(s) for m, s in metrics.items()} for v, metrics in stats.items()}
    for metric, direction in RANKED.items():
        measured = {v: s[metric] for v, s in marked.items() if metric in s and math.isfinite(s[metric]["mean"])}
        if not measured:
            continue
        best = max(measured, key=lambda v: direction * measured[v]["mean"])
        top = measured[best]
        for variant, stat in measured.items():
            overlap = stat["ci_low"] <= top["ci_high"] and top["ci_low"] <= stat["ci_high"]
            stat["vs_best"] = "best" if variant == best else "tie" if overlap else "worse"
    return marked
