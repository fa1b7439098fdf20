"""Certainty from convergence: a sample is certain once its predicted chunk stops changing between ticks."""

from __future__ import annotations

import torch
from torch import nn

from polibench.registry import register


@register("halting", "convergence")
class ConvergenceHalting(nn.Module):
    """certainty_t = exp(-mean|y_t - y_{t-1}| / scale); 0 at the first tick (nothing to compare with).

    Parameter-free, so it needs no training term; it can first halt at the second tick.

    Args:
        scale: chunk change (normalised action units) at which certainty is 1/e.
        threshold: halt a sample at inference at its first tick with certainty >= threshold.
        enabled: halt at inference; off, every call runs all ticks (for latency comparisons).
    """

    def __init__(self, n_sync_out: int, scale: float = 0.01, threshold: float = 0.5, enabled: bool = True) -> None:
        super().__init__()
        del n_sync_out  # part of the halting contract (see polibench.nn.ctm_core); unused here
        self.scale = scale
        self.threshold = threshold
        self.enabled = enabled

    def forward(self, sync_out: torch.Tensor, chunk: torch.Tensor,
                previous: torch.Tensor | None) -> dict[str, torch.Tensor]:
        if previous is None:
            return {"certainty": chunk.new_zeros(chunk.shape[0])}
        return {"certainty": torch.exp(-(chunk - previous).abs().mean(dim=(-1, -2)) / self.scale)}
