"""Independent random neuron pairs, one synchronisation value per pair (upstream CTM's default, ``random-pairing``).

Formerly registered as ``random_pairing``, a name too close to the dense ``random`` subset's."""

from __future__ import annotations

import torch

from polibench.ctm.synchronisation import check_pair_request, role_generator
from polibench.registry import register


@register("pairing", "independent_pairs", aliases=("random_pairing",))
class IndependentPairs:
    """``n_pairs`` distinct unordered pairs (i, j), i != j, drawn uniformly: little sharing, so a wide bottleneck.

    Drawn by rejection, so memory stays O(n_pairs) (never D x D).

    Args:
        seed: draw seed; the action and output roles use different streams of it.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def __call__(self, n_neurons: int, n_pairs: int, role: str) -> tuple[torch.Tensor, torch.Tensor]:
        check_pair_request(n_neurons, n_pairs, role)
        available = n_neurons * (n_neurons - 1) // 2
        if n_pairs > available:
            raise ValueError(f"{n_neurons} neurons have only {available} distinct pairs, {n_pairs} requested")
        gen = role_generator(self.seed, role)
        codes = torch.empty(0, dtype=torch.long)
        while len(codes) < n_pairs:  # usually one round; unique() keeps every pair once
            i = torch.randint(n_neurons, (2 * n_pairs,), generator=gen)
            j = torch.randint(n_neurons, (2 * n_pairs,), generator=gen)
            keep = i != j
            codes = torch.unique(torch.cat([codes, (torch.minimum(i, j) * n_neurons + torch.maximum(i, j))[keep]]))
        codes = codes[torch.randperm(len(codes), generator=gen)[:n_pairs]]  # unique() sorts: subsample unbiasedly
        return codes // n_neurons, codes % n_neurons
