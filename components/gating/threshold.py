"""Hard sync gating: a neuron group fires when its synchronisation passes a learnable threshold."""

from __future__ import annotations

import torch
from torch import nn

from polibench.nn.synchronisation import GroupSynchronisation
from polibench.registry import register


@register("gating", "threshold")
class ThresholdGating(nn.Module):
    """Gate = 1[s_g > theta_g]; the backward pass uses sigmoid((s_g - theta_g) / temperature) (straight-through),
    so thresholds and synchronisation still learn although the forward gate is binary.

    Args:
        groups: number of equal, contiguous neuron groups.
        temperature: width of the surrogate sigmoid.
    """

    def __init__(self, pair_neurons: torch.Tensor, n_neurons: int, groups: int = 8, temperature: float = 1.0) -> None:
        super().__init__()
        self.group_sync = GroupSynchronisation(pair_neurons, n_neurons, groups)
        self.groups = groups
        self.temperature = temperature
        self.threshold = nn.Parameter(torch.zeros(groups))

    def forward(self, sync_action: torch.Tensor) -> torch.Tensor:
        margin = self.group_sync(sync_action) - self.threshold
        soft = torch.sigmoid(margin / self.temperature)
        return (margin > 0).to(soft) + (soft - soft.detach())  # exactly binary forward, sigmoid backward
