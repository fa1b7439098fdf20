"""CTM's tick loss for action chunks: learn at the best tick and at the tick the model is most certain of."""

from __future__ import annotations

import torch

from polibench.components.loss.l1_chunk import masked_chunk_loss
from polibench.policy import LossTerm
from polibench.registry import register


def per_tick_error(tick_actions: torch.Tensor, action: torch.Tensor, is_pad: torch.Tensor,
                   power: int = 1) -> torch.Tensor:
    """Masked mean |error|^power of every tick's chunk, per sample: [B, T, H, A] vs [B, H, A] -> [B, T]."""
    error = (tick_actions - action.unsqueeze(1)).abs().pow(power)
    keep = (~is_pad).float()[:, None, :, None]
    return (error * keep).sum((-1, -2)) / (keep.sum((-1, -2)) * error.shape[-1]).clamp_min(1.0)


@register("loss", "ctm_tick")
class CTMTickLoss(LossTerm):
    """0.5 * masked L1 at each sample's min-loss tick + 0.5 * masked L1 at its most-certain tick.

    The min-loss term is winner-take-all over ticks, so different ticks may specialise on different modes; the
    most-certain term trains the tick that inference picks when no tick passes the halting threshold.
    """

    name = "ctm_tick"

    def __call__(self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        ticks, action, is_pad = outputs["tick_actions"], batch["action"], batch["action_is_pad"]
        rows = torch.arange(ticks.shape[0], device=ticks.device)
        best = per_tick_error(ticks.detach(), action, is_pad).argmin(dim=1)
        certain = outputs["certainty"].detach().argmax(dim=1)
        return 0.5 * (masked_chunk_loss((ticks[rows, best] - action).abs(), is_pad)
                      + masked_chunk_loss((ticks[rows, certain] - action).abs(), is_pad))
