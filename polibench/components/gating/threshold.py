"""Hard sync gating: a neuron group fires when its synchronisation passes a learnable threshold."""

from __future__ import annotations

import torch

from polibench.components.gating.sigmoid import SigmoidGating
from polibench.registry import register


@register("gating", "threshold")
class ThresholdGating(SigmoidGating):
    """Gate = 1[s_g > theta_g]; the backward pass uses sigmoid((s_g - theta_g) / temperature) (straight-through),
    so thresholds and synchronisation still learn although the forward gate is binary.

    Args:
        groups: number of equal, contiguous neuron groups.
        temperature: width of the surrogate sigmoid.

    Same parameters as ``gating.sigmoid``, whose soft gate is the surrogate; only the forward gate differs.
    """

    def forward(self, sync_action: torch.Tensor) -> torch.Tensor:
        margin = self.group_sync(sync_action) - self.threshold
        soft = torch.sigmoid(margin / self.temperature)
        return (margin > 0).to(soft) + (soft - soft.detach())  # exactly binary forward, sigmoid backward
