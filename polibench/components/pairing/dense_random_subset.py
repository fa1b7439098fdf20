"""Dense pairs over a random subset of neurons (a seeded draw, fixed at init); upstream CTM's ``random`` selection.

Formerly registered as ``random``, a name that hid the difference from ``independent_pairs``."""

from __future__ import annotations

import torch

from polibench.ctm.synchronisation import check_pair_request, dense_side, role_generator, upper_triangle_pairs
from polibench.registry import register


@register("pairing", "dense_random_subset", aliases=("random",))
class DenseRandomSubset:
    """Upper triangle (diagonal included) over n distinct neurons drawn at random; no pair appears twice.

    Upstream draws separate left and right subsets; one subset keeps the triangle free of mirrored duplicates.

    Args:
        seed: draw seed; the action and output roles use different streams of it.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def __call__(self, n_neurons: int, n_pairs: int, role: str) -> tuple[torch.Tensor, torch.Tensor]:
        check_pair_request(n_neurons, n_pairs, role)
        side = dense_side(n_neurons, n_pairs)
        pick = torch.randperm(n_neurons, generator=role_generator(self.seed, role))[:side]
        return upper_triangle_pairs(pick, n_pairs)
