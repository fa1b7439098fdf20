"""L1 between the predicted and demonstrated action chunk, ignoring padded steps past an episode's end."""

from __future__ import annotations

import torch

from polibench.policy import LossTerm
from polibench.registry import register


def masked_chunk_loss(error: torch.Tensor, is_pad: torch.Tensor) -> torch.Tensor:
    """Mean of ``error`` [B, H, A] over the steps that are not padding ([B, H] mask)."""
    keep = (~is_pad).unsqueeze(-1).float()
    return (error * keep).sum() / (keep.sum() * error.shape[-1]).clamp_min(1.0)


@register("loss", "l1_chunk")
class L1Chunk(LossTerm):
    """Masked L1 on the normalised action chunk (ACT's reconstruction loss)."""

    name = "l1"

    def __call__(self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return masked_chunk_loss((outputs["actions"] - batch["action"]).abs(), batch["action_is_pad"])
