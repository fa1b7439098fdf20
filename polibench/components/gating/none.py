"""No sync gating: every neuron updates at every tick (the plain CTM)."""

from __future__ import annotations

import torch
from torch import nn

from polibench.registry import register


@register("gating", "none")
class NoGating(nn.Module):
    """One group that always fires."""

    groups = 1

    def __init__(self, pair_neurons: torch.Tensor, n_neurons: int) -> None:
        super().__init__()
        del pair_neurons, n_neurons  # part of the gating contract (see polibench.ctm.core); unused here

    def forward(self, sync_action: torch.Tensor) -> torch.Tensor:
        return sync_action.new_ones(sync_action.shape[0], 1)
