"""The CTM's deep synapse: an MLP U-Net, whose skips let the update mix information at several widths."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from polibench.registry import register


def _block(d_in: int, d_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(d_in, d_out), nn.LayerNorm(d_out), nn.SiLU())


@register("synapse", "unet")
class UNetSynapse(nn.Module):
    """Widths linspace(width, min_width, depth): ``depth - 1`` down and up blocks, each level ends in LN(up + skip).

    Args:
        depth: number of widths (>= 2; depth 1 is ``synapse.mlp``).
        min_width: bottleneck width.
        width: the outer width; None is D, the number of neurons (upstream CTM's U-Net). A wider synapse spends
            parameters on the update without adding neurons: its outer level is projected to the D pre-activations.
    """

    def __init__(self, d_input: int, d_model: int, n_sync_action: int, depth: int = 4, min_width: int = 16,
                 dropout: float = 0.0, width: int | None = None) -> None:
        super().__init__()
        del n_sync_action  # part of the synapse contract; unused here
        if depth < 2:
            raise ValueError(f"synapse.unet needs depth >= 2 (got {depth}); use synapse.mlp for depth 1")
        if width is not None and width < min_width:
            raise ValueError(f"synapse.unet.width ({width}) must be at least min_width ({min_width})")
        outer = d_model if width is None else width
        widths = [int(w) for w in np.linspace(outer, min_width, depth)]
        self.first = nn.Sequential(nn.Linear(d_input + d_model, widths[0]), nn.LayerNorm(widths[0]), nn.SiLU())
        self.down = nn.ModuleList(_block(widths[i], widths[i + 1], dropout) for i in range(depth - 1))
        self.up = nn.ModuleList(_block(widths[i + 1], widths[i], dropout) for i in range(depth - 1))
        self.skip_norms = nn.ModuleList(nn.LayerNorm(widths[i]) for i in range(depth - 1))
        self.to_neurons = nn.Linear(outer, d_model) if outer != d_model else None

    def forward(self, attn: torch.Tensor, z: torch.Tensor, tick: int, sync_action: torch.Tensor) -> torch.Tensor:
        levels = [self.first(torch.cat([attn, z], dim=-1))]
        for block in self.down:
            levels.append(block(levels[-1]))
        out = levels[-1]
        for i in reversed(range(len(self.up))):
            out = self.skip_norms[i](self.up[i](out) + levels[i])
        return out if self.to_neurons is None else self.to_neurons(out)
