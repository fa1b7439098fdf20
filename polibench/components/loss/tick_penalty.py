"""Adaptive-compute pressure: the expected number of ticks a certainty-driven halting rule would run."""

from __future__ import annotations

import torch

from polibench.policy import LossTerm
from polibench.registry import register


@register("loss", "tick_penalty")
class TickPenalty(LossTerm):
    """E[ticks used] / T, reading each tick's certainty c_t in [0, 1] as the probability of halting after it.

    Tick t runs if no earlier tick halted: E[ticks] = sum_t prod_{s<t} (1 - c_s). Minimising it rewards being
    certain early. It would also reward false confidence; the certainty's own training (e.g. the Gaussian NLL of
    ``halting.variance``) pushes back, so keep the weight small. Constant (no gradient) at T = 1.
    """

    name = "tick_penalty"

    def __init__(self, weight: float = 0.01) -> None:
        super().__init__(weight)

    def __call__(self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        certainty = outputs["certainty"].clamp(0.0, 1.0)
        survive = torch.cumprod(1.0 - certainty, dim=1)
        expected = 1.0 + survive[:, :-1].sum(dim=1)
        return (expected / certainty.shape[1]).mean()
