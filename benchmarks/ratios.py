"""Ratios of each benchmark's median time against ACT's, from one pytest-benchmark JSON (one session).

The ratio and the number formats are the report's (``report_gen.report.speed``), so this table and the report's
speed table print the same values.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from report_gen.report.speed import fmt_ms, fmt_ratio, ratios_vs_act


def ratios(path: Path) -> str:
    benches = json.loads(path.read_text())["benchmarks"]
    vs_act = ratios_vs_act(benches)
    lines = ["| benchmark | median (ms) | vs ACT |", "|---|---|---|"]
    for b in benches:
        lines.append(f"| {b['name']} | {fmt_ms(b['stats']['median'])} | {fmt_ratio(vs_act[b['name']])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(ratios(Path(sys.argv[1])))
