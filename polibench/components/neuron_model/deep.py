"""Deep neuron-level models: every neuron runs its own two-layer GLU MLP over its pre-activation history."""

from __future__ import annotations

import math

import torch
from torch import nn

from polibench.registry import register


def per_neuron_weight(d_in: int, d_out: int, n_neurons: int) -> nn.Parameter:
    """[D, d_in, d_out] weights, one private matrix per neuron (upstream CTM's uniform init).

    Stored neuron-major so every tick's product is one bmm with no copy of the weights; the values are drawn in
    the [d_in, d_out, D] order of upstream CTM (and of earlier polibench versions) and then permuted.
    """
    bound = 1.0 / math.sqrt(d_in + d_out)
    return nn.Parameter(torch.empty(d_in, d_out, n_neurons).uniform_(-bound, bound).permute(2, 0, 1).contiguous())


def per_neuron_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Neuron-major [D, B, d_in] -> [D, B, d_out], every neuron with its own weight [D, d_in, d_out], bias [D, d_out].

    One baddbmm with the neuron as the batch axis. ``x`` may be a transposed view (the core's [B, D, M] history
    read as [D, B, M]): BLAS reads it in place. It runs in fp32 even under bf16 autocast: these 512 tiny
    products are about twice as slow in bf16 on the CPU (measured: forward + backward 4.1 vs 2.0 ms at batch 64).
    """
    with torch.autocast(x.device.type, enabled=False):
        return torch.baddbmm(bias.float()[:, None], x.float(), weight.float())


@register("neuron_model", "deep")
class DeepNLM(nn.Module):
    """history [B, D, M] -> (per neuron) linear M->2H -> GLU -> linear H->2 -> GLU -> post-activation [B, D].

    Both layers are one batched matmul over all neurons, so the cost does not grow with Python loops over D.

    Args:
        hidden: H, the hidden width of every neuron's MLP.
        dropout: dropout on the history.
    """

    def __init__(self, d_model: int, memory: int, hidden: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.w1 = per_neuron_weight(memory, 2 * hidden, d_model)
        self.b1 = nn.Parameter(torch.zeros(d_model, 2 * hidden))
        self.w2 = per_neuron_weight(hidden, 2, d_model)
        self.b2 = nn.Parameter(torch.zeros(d_model, 2))

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        h = nn.functional.glu(per_neuron_linear(self.dropout(history).transpose(0, 1), self.w1, self.b1), dim=-1)
        return nn.functional.glu(per_neuron_linear(h, self.w2, self.b2), dim=-1).squeeze(-1).t()
