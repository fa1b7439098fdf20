"""Shallow neuron-level models: one private gated linear map per neuron (faster than ``neuron_model.deep``)."""

from __future__ import annotations

import torch
from torch import nn

from polibench.components.neuron_model.deep import per_neuron_linear, per_neuron_weight
from polibench.registry import register


@register("neuron_model", "shallow")
class ShallowNLM(nn.Module):
    """history [B, D, M] -> (per neuron) linear M->2 -> GLU -> post-activation [B, D], as one batched matmul."""

    def __init__(self, d_model: int, memory: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.w = per_neuron_weight(memory, 2, d_model)
        self.b = nn.Parameter(torch.zeros(d_model, 2))

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        out = per_neuron_linear(self.dropout(history).transpose(0, 1), self.w, self.b)
        return nn.functional.glu(out, dim=-1).squeeze(-1).t()
