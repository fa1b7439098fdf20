"""One token per observation step for a vector entry (agent position, keypoints)."""

from __future__ import annotations

import torch
from torch import nn

from polibench.registry import register


@register("encoder", "state_token")
class StateToken(nn.Module):
    """Linear projection of a vector entry to one token per history step, plus a learned slot embedding."""

    def __init__(self, shape: tuple[int, ...], dim: int, max_obs_steps: int = 8) -> None:
        super().__init__()
        self.proj = nn.Linear(shape[0], dim)
        self.slot = nn.Parameter(torch.zeros(max_obs_steps, dim))
        nn.init.normal_(self.slot, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, n_obs, D] -> [B, n_obs, dim]."""
        return self.proj(x) + self.slot[: x.shape[1]]
