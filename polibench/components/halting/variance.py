"""Certainty from a predicted error scale: each tick also predicts the log-variance of its own chunk error.

CTM's certainty (1 - normalised entropy) needs categorical outputs; for continuous actions the model instead
learns how wrong it expects each tick to be (a Gaussian NLL on the observed error), and halts once that is small.
"""

from __future__ import annotations

import torch
from torch import nn

from polibench.ctm.tick_error import per_tick_error
from polibench.policy import LossTerm
from polibench.registry import register


@register("halting", "variance")
class VarianceHalting(nn.Module):
    """log sigma^2_t = linear(sync_out_t); certainty_t = 1 / (1 + sigma_t), sigma in normalised action units.

    Args:
        threshold: halt a sample at inference at its first tick with certainty >= threshold
            (0.9 means a predicted RMS error below ~0.11, i.e. ~5% of the normalised [-1, 1] range).
        enabled: halt at inference; off, every call runs all ticks (for latency comparisons).
    """

    def __init__(self, n_sync_out: int, threshold: float = 0.9, enabled: bool = True) -> None:
        super().__init__()
        self.threshold = threshold
        self.enabled = enabled
        self.head = nn.Linear(n_sync_out, 1)

    def forward(self, sync_out: torch.Tensor, chunk: torch.Tensor,
                previous: torch.Tensor | None) -> dict[str, torch.Tensor]:
        log_variance = self.head(sync_out).squeeze(-1)
        return {"certainty": 1.0 / (1.0 + (0.5 * log_variance).exp()), "log_variance": log_variance}


@register("loss", "variance_nll")
class VarianceNLL(LossTerm):
    """Gaussian NLL of every tick's observed (detached) masked squared error under its predicted log-variance.

    The error is detached so this term teaches the variance head without reweighting the action loss; zero for
    halting rules without a variance head.
    """

    name = "variance_nll"

    def __call__(self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if "log_variance" not in outputs:
            return outputs["certainty"].new_zeros(())
        log_variance = outputs["log_variance"]
        mse = per_tick_error(outputs["tick_actions"].detach(), batch["action"], batch["action_is_pad"], power=2)
        return (0.5 * (log_variance + mse * torch.exp(-log_variance))).mean()
