"""No neuron-level models: one activation shared by every neuron, on its latest pre-activation only.

The ablation of the CTM's first mechanism: without private per-neuron models over a history, a neuron is the unit
of an ordinary recurrent network. The trace is still kept (the contract), but only its newest entry is read.
"""

from __future__ import annotations

import torch
from torch import nn

from polibench.registry import register

ACTIVATIONS = {"silu": nn.functional.silu, "tanh": torch.tanh, "identity": lambda x: x}


@register("neuron_model", "plain")
class PlainActivation(nn.Module):
    """history [B, D, M] -> activation(history[..., -1]): no parameters, no history, the same map for all neurons.

    Args:
        activation: ``silu`` (the unet synapse's own non-linearity), ``tanh`` or ``identity``.
    """

    def __init__(self, d_model: int, memory: int, activation: str = "silu") -> None:
        super().__init__()
        del d_model, memory  # part of the neuron_model contract (polibench.ctm.parts); unused here
        if activation not in ACTIVATIONS:
            raise ValueError(f"neuron_model.plain.activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.activation = activation

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        return ACTIVATIONS[self.activation](history[..., -1])
