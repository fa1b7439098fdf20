"""Certainty from convergence: a sample is certain once its predicted chunk stops changing between ticks."""

from __future__ import annotations

import math

import torch
from torch import nn

from polibench.ctm.parts import check_budget_or_tolerance
from polibench.registry import register

#: The chunk change of the first tick, which has no predecessor: larger than any budget, so it never halts.
NO_CHANGE_YET = math.inf


@register("halting", "convergence")
class ConvergenceHalting(nn.Module):
    """change_t = mean|y_t - y_{t-1}|; certainty_t = 1 / (1 + change_t / scale), 0 at the first tick.

    A rational rather than an exponential decay: ``exp(-change / scale)`` underflows to 0 in float32 once the
    change passes ~100 scales, and a budget that large then halted calls at the first tick, whose certainty is 0
    too. Here every finite change keeps a positive certainty and every finite budget a positive threshold.

    Parameter-free, so it needs no training term; it can first halt at the second tick. The halting knob is
    either a certainty ``threshold`` or, calibrated on validation windows for a tolerance like
    ``halting.predicted_error`` (``polibench calibrate``), a chunk-change budget ``max_change``.

    Args:
        scale: chunk change (normalised action units) at which certainty is 1/2.
        threshold: halt a sample at inference at its first tick with certainty >= threshold.
        max_change: halt at the first tick whose chunk moved at most this much (overrides ``threshold``).
        tolerance: calibrate ``max_change`` for this mean excess error on the run's validation windows at every
            evaluation instead of giving it (see ``halting.predicted_error``); not with ``max_change``.
        enabled: halt at inference; off, every call runs all ticks (for latency comparisons).
    """

    #: (per-tick extra that calibration budgets, the parameter the budget sets)
    calibrated_by = ("chunk_change", "max_change")

    def __init__(self, n_sync_out: int, scale: float = 0.01, threshold: float = 0.5, enabled: bool = True,
                 max_change: float | None = None, tolerance: float | None = None) -> None:
        super().__init__()
        del n_sync_out  # part of the halting contract (see polibench.ctm.parts); unused here
        if max_change is not None and not max_change > 0:
            raise ValueError(f"halting.convergence.max_change must be > 0 or None, got {max_change}")
        check_budget_or_tolerance("convergence", "max_change", max_change, tolerance)
        self.tolerance = tolerance
        self.scale = scale
        self.certainty_threshold = threshold
        self.max_change = max_change
        self.enabled = enabled

    @property
    def threshold(self) -> float:
        """The certainty the core halts at: from ``max_change`` when given, else ``threshold``."""
        return self.certainty_threshold if self.max_change is None else 1.0 / (1.0 + self.max_change / self.scale)

    def forward(self, sync_out: torch.Tensor, chunk: torch.Tensor,
                previous: torch.Tensor | None) -> dict[str, torch.Tensor]:
        if previous is None:
            change = chunk.new_full((chunk.shape[0],), NO_CHANGE_YET, dtype=torch.float32)
        else:
            change = (chunk - previous).abs().float().mean(dim=(-1, -2))
        return {"certainty": 1.0 / (1.0 + change / self.scale), "chunk_change": change}
