"""Competitive sync gating: only the k most synchronised neuron groups fire at a tick."""

from __future__ import annotations

import torch
from torch import nn

from polibench.ctm.synchronisation import GroupSynchronisation
from polibench.registry import register


@register("gating", "topk")
class TopKGating(nn.Module):
    """Gate = 1 for the k groups of highest synchronisation; the backward pass uses a sigmoid around the cut
    between the k-th and (k+1)-th group (straight-through), so synchronisation learns which groups win.

    Args:
        groups: number of equal, contiguous neuron groups.
        k: groups that fire per tick (1 <= k <= groups).
        temperature: width of the surrogate sigmoid.
    """

    def __init__(self, pair_neurons: torch.Tensor, n_neurons: int, groups: int = 8, k: int = 4,
                 temperature: float = 1.0) -> None:
        super().__init__()
        if not 1 <= k <= groups:
            raise ValueError(f"gating.topk needs 1 <= k <= groups, got k={k}, groups={groups}")
        self.group_sync = GroupSynchronisation(pair_neurons, n_neurons, groups)
        self.groups = groups
        self.k = k
        self.temperature = temperature

    def forward(self, sync_action: torch.Tensor) -> torch.Tensor:
        s = self.group_sync(sync_action)
        top = s.topk(min(self.k + 1, self.groups), dim=-1).values.detach()
        cut = top[:, -1:] if self.k == self.groups else 0.5 * (top[:, self.k - 1 : self.k] + top[:, self.k :])
        soft = torch.sigmoid((s - cut) / self.temperature)
        hard = torch.zeros_like(s).scatter_(-1, s.topk(self.k, dim=-1).indices, 1.0)
        return hard + (soft - soft.detach())  # exactly binary forward, sigmoid backward
