"""The CTM's depth-1 synapse: one gated linear layer mixing the attention read-out with the neurons' state."""

from __future__ import annotations

import torch
from torch import nn

from polibench.registry import register


@register("synapse", "mlp")
class MLPSynapse(nn.Module):
    """dropout -> linear(2D) -> GLU -> LayerNorm over cat[attention output, post-activations].

    Built by the CTM core with the sizes below; ``n_sync_action`` belongs to the synapse contract (see
    :mod:`polibench.ctm.core`) and only synapses conditioned on synchronisation use it.
    """

    def __init__(self, d_input: int, d_model: int, n_sync_action: int, dropout: float = 0.0) -> None:
        super().__init__()
        del n_sync_action  # part of the synapse contract; unused here
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(d_input + d_model, 2 * d_model), nn.GLU(),
                                 nn.LayerNorm(d_model))

    def forward(self, attn: torch.Tensor, z: torch.Tensor, tick: int, sync_action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([attn, z], dim=-1))
