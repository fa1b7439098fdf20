"""Ratios from one pytest-benchmark JSON (one session): every benchmark against ACT's median in its group, then
the throughput targets of the training step (ours against LeRobot's on the same model and data; CTM-ACT
against ACT), per precision and for each side's training precision.

The ratio and the number formats are the study paper's (``report_gen.paper.speed``), so this table and the
paper's call-time macros read the same medians the same way.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from report_gen.paper.speed import fmt_ms, fmt_ratio, ratios_vs_act

#: (ours, theirs): how many times faster our training step is than LeRobot's.
VS_LEROBOT = (("act", "lerobot_act"), ("diffusion", "lerobot_diffusion"))
CTM = ("ctm_act_unet", "ctm_act_mlp", "ctm_act_tick_sync")
STEP = {"fp32": "test_training_step_batch64[{}]", "bf16": "test_training_step_batch64_bf16[{}]"}


def ratios(path: Path) -> str:
    benches = json.loads(path.read_text())["benchmarks"]
    vs_act = ratios_vs_act(benches)
    lines = ["| benchmark | median (ms) | vs ACT |", "|---|---|---|"]
    for b in benches:
        lines.append(f"| {b['name']} | {fmt_ms(b['stats']['median'])} | {fmt_ratio(vs_act[b['name']])} |")
    return "\n".join(lines) + "\n\n" + targets({b["name"]: b["stats"]["median"] for b in benches})


def targets(medians: dict[str, float]) -> str:
    """The training-step ratios the throughput goals are stated in ('-' where the session lacks a row)."""
    def step(name: str, precision: str) -> float | None:
        return medians.get(STEP[precision].format(name))

    def ratio(num: float | None, den: float | None) -> str:
        return fmt_ratio(num / den) if num and den else "-"

    lines = ["| training step | fp32 | bf16 | ours bf16 vs theirs fp32 |", "|---|---|---|---|"]
    for ours, theirs in VS_LEROBOT:
        cells = [ratio(step(theirs, p), step(ours, p)) for p in ("fp32", "bf16")]
        cells.append(ratio(step(theirs, "fp32"), step(ours, "bf16")))
        lines.append(f"| {ours} faster than {theirs} | " + " | ".join(cells) + " |")
    for ctm in CTM:
        lines.append(f"| {ctm} / act | {ratio(step(ctm, 'fp32'), step('act', 'fp32'))} | "
                     f"{ratio(step(ctm, 'bf16'), step('act', 'bf16'))} | - |")
    lines += ["", "| training step | bf16 faster than fp32 |", "|---|---|"]
    for name in ("act", "diffusion", *CTM, *(theirs for _, theirs in VS_LEROBOT)):
        lines.append(f"| {name} | {ratio(step(name, 'fp32'), step(name, 'bf16'))} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(ratios(Path(sys.argv[1])))
