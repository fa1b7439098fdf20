"""Soft sync gating: each neuron group updates by a fraction set by how synchronised it is."""

from __future__ import annotations

import torch
from torch import nn

from polibench.ctm.synchronisation import GroupSynchronisation
from polibench.registry import register


@register("gating", "sigmoid")
class SigmoidGating(nn.Module):
    """Gate = sigmoid((s_g - theta_g) / temperature), theta_g learnable: differentiable, never exactly closed.

    Args:
        groups: number of equal, contiguous neuron groups.
        temperature: sigmoid width.
    """

    def __init__(self, pair_neurons: torch.Tensor, n_neurons: int, groups: int = 8, temperature: float = 1.0) -> None:
        super().__init__()
        self.group_sync = GroupSynchronisation(pair_neurons, n_neurons, groups)
        self.groups = groups
        self.temperature = temperature
        self.threshold = nn.Parameter(torch.zeros(groups))

    def forward(self, sync_action: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid((self.group_sync(sync_action) - self.threshold) / self.temperature)
