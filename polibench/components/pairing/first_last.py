"""Dense pairs over a fixed block of neurons: the first neurons for outputs, the last ones for actions."""

from __future__ import annotations

import torch

from polibench.ctm.synchronisation import check_pair_request, dense_side, upper_triangle_pairs
from polibench.registry import register


@register("pairing", "first_last")
class FirstLast:
    """Upper triangle (diagonal included) over the first (``out``) or last (``action``) n neurons.

    n is the smallest block whose triangle holds the requested pairs; the triangle is cut to exactly that many.
    Every neuron of the block is shared by many pairs, which bottlenecks gradients through few neurons (as upstream).
    """

    def __call__(self, n_neurons: int, n_pairs: int, role: str) -> tuple[torch.Tensor, torch.Tensor]:
        check_pair_request(n_neurons, n_pairs, role)
        side = dense_side(n_neurons, n_pairs)
        start = 0 if role == "out" else n_neurons - side
        return upper_triangle_pairs(torch.arange(start, start + side), n_pairs)
