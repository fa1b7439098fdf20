"""CTM's tick loss for action chunks: learn at the best tick and at the tick the model is most certain of."""

from __future__ import annotations

import torch

from polibench.components.loss.l1_chunk import masked_chunk_loss
from polibench.ctm.tick_error import per_tick_error
from polibench.policy import LossTerm
from polibench.registry import register


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
