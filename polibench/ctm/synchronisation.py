"""Neuron synchronisation over internal ticks: the CTM's latent representation, computed recursively.

Synchronisation of a pair (i, j) is the decayed inner product of the two neurons' post-activation histories.
Keeping running sums makes it O(pairs) per tick instead of re-reading the history, and indexing fixed pairs
(never a dense D x D matrix) keeps memory linear in the number of pairs:

    alpha <- r * alpha + z_i * z_j,   beta <- r * beta + 1,   S = alpha / sqrt(beta),   r = exp(-clamp(d, 0, 15)).
"""

from __future__ import annotations

import torch
from torch import nn

#: Running sums (alpha, beta), each [B, n_pairs].
SyncState = tuple[torch.Tensor, torch.Tensor]

MAX_DECAY = 15.0


class Synchronisation(nn.Module):
    """Synchronisation of fixed neuron pairs with a learnable decay per pair.

    Args:
        left, right: neuron indices of each pair, [n_pairs] each (stored as buffers, so checkpoints keep them).
    """

    def __init__(self, left: torch.Tensor, right: torch.Tensor) -> None:
        super().__init__()
        if left.shape != right.shape or left.ndim != 1 or left.numel() == 0:
            raise ValueError(f"pairs need two equal, non-empty 1-D index tensors, got {tuple(left.shape)} and "
                             f"{tuple(right.shape)}")
        self.register_buffer("left", left.long())
        self.register_buffer("right", right.long())
        self.decay = nn.Parameter(torch.zeros(left.numel()))

    @property
    def n_pairs(self) -> int:
        return self.left.numel()

    def rate(self) -> torch.Tensor:
        """r = exp(-d) [n_pairs]; d is clamped in place outside autograd, so the clamp cannot zero its gradient."""
        self.decay.data.clamp_(0.0, MAX_DECAY)
        return torch.exp(-self.decay)

    def forward(self, z: torch.Tensor, state: SyncState | None, rate: torch.Tensor) -> tuple[torch.Tensor, SyncState]:
        """Fold post-activations ``z`` [B, D] into the running sums; ``state=None`` starts them from ``z``."""
        product = z[:, self.left] * z[:, self.right]
        if state is None:
            alpha, beta = product, torch.ones_like(product)
        else:
            alpha, beta = rate * state[0] + product, rate * state[1] + 1.0
        return alpha / beta.sqrt(), (alpha, beta)


class GroupSynchronisation(nn.Module):
    """Mean synchronisation per neuron group: D neurons in ``groups`` contiguous blocks; a pair belongs to the
    block of its first neuron. What the sync gates compare (a group that owns no pair reads 0).

    Args:
        pair_neurons: first neuron of every pair [n_pairs].
    """

    def __init__(self, pair_neurons: torch.Tensor, n_neurons: int, groups: int) -> None:
        super().__init__()
        if groups < 1 or n_neurons % groups:
            raise ValueError(f"{n_neurons} neurons cannot be split into {groups} equal groups")
        self.groups = groups
        one_hot = nn.functional.one_hot(pair_neurons.long() // (n_neurons // groups), groups).float()
        self.register_buffer("assignment", one_hot / one_hot.sum(0).clamp_min(1.0))

    def forward(self, sync: torch.Tensor) -> torch.Tensor:
        """[B, n_pairs] -> [B, groups]."""
        return sync @ self.assignment


#: The two pair sets of a CTM: the action pairs (attention queries) and the output pairs (predictions).
ROLES = ("action", "out")


def check_pair_request(n_neurons: int, n_pairs: int, role: str) -> None:
    """Shared argument check of the pairing components (zero pairs would leave the query or readout empty)."""
    if role not in ROLES:
        raise ValueError(f"pair role must be one of {ROLES}, got {role!r}")
    if n_pairs < 1:
        raise ValueError(f"{role} synchronisation needs at least one pair, got n_pairs={n_pairs}")
    if n_neurons < 1:
        raise ValueError(f"need at least one neuron, got {n_neurons}")


def upper_triangle_pairs(neurons: torch.Tensor, n_pairs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n_pairs`` (row-major) of the upper triangle, diagonal included, over ``neurons``.

    Needs n(n+1)/2 >= n_pairs for n = len(neurons); see :func:`triangle_side`.
    """
    i, j = torch.triu_indices(len(neurons), len(neurons))
    if len(i) < n_pairs:
        raise ValueError(f"{len(neurons)} neurons give only {len(i)} dense pairs, {n_pairs} requested")
    return neurons[i[:n_pairs]], neurons[j[:n_pairs]]


def triangle_side(n_pairs: int) -> int:
    """Smallest n with n(n+1)/2 >= n_pairs: how many neurons a dense triangle of ``n_pairs`` pairs spans."""
    n = int((-1 + (1 + 8 * n_pairs) ** 0.5) / 2)
    return n if n * (n + 1) // 2 >= n_pairs else n + 1


def dense_side(n_neurons: int, n_pairs: int) -> int:
    """:func:`triangle_side` of ``n_pairs``, refused where the core has fewer neurons than the triangle spans."""
    side = triangle_side(n_pairs)
    if side > n_neurons:
        raise ValueError(f"{n_pairs} dense pairs need {side} neurons, the core has {n_neurons}")
    return side


def role_generator(seed: int, role: str) -> torch.Generator:
    """The seeded generator of one role's draw: one stream per (seed, role), so the action and output pairs of a
    random pairing differ and each is fixed by the seed."""
    return torch.Generator().manual_seed(seed * len(ROLES) + ROLES.index(role))
