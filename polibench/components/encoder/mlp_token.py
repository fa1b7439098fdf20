"""A deeper alternative to state_token: a small MLP per vector entry."""

from __future__ import annotations

import torch
from torch import nn

from polibench.registry import register


@register("encoder", "mlp_token")
class MLPToken(nn.Module):
    """Two-layer MLP of a vector entry to one token per history step (for entries whose geometry is nonlinear)."""

    def __init__(self, shape: tuple[int, ...], dim: int, hidden: int = 256, max_obs_steps: int = 8) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(shape[0], hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.slot = nn.Parameter(torch.zeros(max_obs_steps, dim))
        nn.init.normal_(self.slot, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) + self.slot[: x.shape[1]]
