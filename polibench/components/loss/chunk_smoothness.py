"""A smoothness prior on the predicted chunk: penalise its second differences (accelerations of the targets).

Jerk, the protocol's smoothness metric, is the third difference of the executed positions; the agent follows its
targets through a PD controller, so rough target sequences show up as jerk. Penalising the chunk's acceleration
(normalised units, padded steps excluded) asks for smooth plans within a chunk; the jump between chunks is left
to the policy's execution scheme.
"""

from __future__ import annotations

import torch

from polibench.policy import LossTerm
from polibench.registry import register


@register("loss", "chunk_smoothness")
class ChunkSmoothness(LossTerm):
    """Mean squared second difference of ``actions`` [B, H, A] over steps whose three frames are all real.

    Args:
        weight: strength against the reconstruction loss. In value the term is small (squared second differences
            of normalised targets: ~2e-3 unweighted early in a CTM-ACT screen, against ~0.1 for the L1 term), so
            its size is set by the gradient instead: per action it is 2 * weight * (a few second differences of
            ~0.05) against the L1 term's +-1 per action, and weight 1 keeps it a small fraction of that.
    """

    name = "chunk_smoothness"

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__(weight)

    def __call__(self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        actions, pad = outputs["actions"], batch["action_is_pad"]
        accel = actions[:, 2:] - 2 * actions[:, 1:-1] + actions[:, :-2]
        keep = (~(pad[:, 2:] | pad[:, 1:-1] | pad[:, :-2])).unsqueeze(-1).float()
        return (accel.square() * keep).sum() / (keep.sum() * actions.shape[-1]).clamp_min(1.0)
