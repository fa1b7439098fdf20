"""Ratios of each benchmark's median time against ACT's, from one pytest-benchmark JSON (one session)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REFERENCE = {"inference": "act_chunk8", "training": "act"}


def ratios(path: Path) -> str:
    benches = json.loads(path.read_text())["benchmarks"]
    by_name = {b["name"]: b for b in benches}
    lines = ["| benchmark | median (ms) | vs ACT |", "|---|---|---|"]
    for b in benches:
        group = b["extra_info"].get("group", "")
        ref_param = REFERENCE.get(group)
        ref = next((r for n, r in by_name.items() if ref_param and n.endswith(f"[{ref_param}]")), None)
        median_ms = b["stats"]["median"] * 1e3
        ratio = f"{b['stats']['median'] / ref['stats']['median']:.2f}x" if ref else "-"
        lines.append(f"| {b['name']} | {median_ms:.3f} | {ratio} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(ratios(Path(sys.argv[1])))
