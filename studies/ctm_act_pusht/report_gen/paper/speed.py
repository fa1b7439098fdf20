"""Quiet-machine speed benchmarks (``python -m pytest benchmarks --benchmark-json=F``): one file, one session.

A benchmark is compared with ACT only within its own file: inference rows against ACT's model call (chunk 8),
training rows against ACT's training step. ``benchmarks/ratios.py`` prints its tables with these ratios and
formats; the paper reads the same medians through its macros and the call-time figure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

#: The ACT benchmark (parameter of the test) that each group is compared with; other groups have no ratio.
REFERENCE = {"inference": "act_chunk8", "training": "act", "training_bf16": "act"}
#: The batch-1 model-call benchmark of a policy: ``CALL.format(parameter)``.
CALL = "test_model_call_latency_batch1[{}]"


def ratios_vs_act(benchmarks: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Each benchmark's median over the median of its group's ACT reference in the same session (None: no
    reference for the group, or the reference is missing from the session)."""
    refs = {_group(b): b["stats"]["median"] for b in benchmarks if is_reference(_group(b), b["name"])}
    return {b["name"]: b["stats"]["median"] / refs[_group(b)] if refs.get(_group(b)) else None for b in benchmarks}


def is_reference(group: str, name: str) -> bool:
    """Whether benchmark ``name`` is the ACT benchmark that ``group``'s ratios divide by."""
    return group in REFERENCE and param(name) == REFERENCE[group]


def param(name: str) -> str | None:
    """The parametrize id of a benchmark name, ``act`` in ``test_training_step_batch64[act]``."""
    match = re.search(r"\[(.+)\]$", name)
    return match.group(1) if match else None


def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3f}"


def fmt_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def _group(bench: Mapping[str, Any]) -> str:
    return str((bench.get("extra_info") or {}).get("group", ""))
