"""A synapse that knows when it is: the mlp synapse, FiLM-modulated by the tick and the action synchronisation.

The plain synapses apply the same map at every tick; conditioning on the tick index and on the current
synchronisation lets the update change over internal time (e.g. read widely early, refine late).
"""

from __future__ import annotations

import torch
from torch import nn

from polibench.components.synapse.mlp import MLPSynapse
from polibench.nn.positional import sinusoidal_1d
from polibench.registry import register


@register("synapse", "tick_sync")
class TickSyncSynapse(nn.Module):
    """a = mlp(attn, z) * (1 + gamma) + beta, with (gamma, beta) = linear(cat[sin/cos tick embedding, sync_action]).

    The FiLM layer starts at zero, so training starts from the plain mlp synapse.

    Args:
        tick_dim: width of the sinusoidal tick embedding (no maximum tick count to fix).
    """

    def __init__(self, d_input: int, d_model: int, n_sync_action: int, tick_dim: int = 16,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.tick_dim = tick_dim
        self.mlp = MLPSynapse(d_input, d_model, n_sync_action, dropout)
        self.film = nn.Linear(tick_dim + n_sync_action, 2 * d_model)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, attn: torch.Tensor, z: torch.Tensor, tick: int, sync_action: torch.Tensor) -> torch.Tensor:
        tick_emb = sinusoidal_1d(tick + 1, self.tick_dim)[-1].to(z).expand(z.shape[0], -1)
        gamma, beta = self.film(torch.cat([tick_emb, sync_action], dim=-1)).chunk(2, dim=-1)
        return self.mlp(attn, z, tick, sync_action) * (1 + gamma) + beta
