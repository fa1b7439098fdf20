"""Halting on a predicted error: each tick predicts how far its own chunk is from the demonstration.

Continuous actions have no entropy, so CTM's certainty needs a definition of our own. Here it is an error the model
forecasts for itself, in the units the loss measures (mean |error| of the normalised chunk), so the halting knob is
an error budget that validation windows can calibrate (:mod:`polibench.ctm.calibration`): halt at the first
tick predicted to be within ``max_error``, chosen so that halting costs at most a given tolerance over always
taking the best tick. Not a raw certainty number to guess.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from polibench.ctm.parts import check_budget_or_tolerance
from polibench.ctm.tick_error import per_tick_error
from polibench.policy import LossTerm
from polibench.registry import register


@register("halting", "predicted_error")
class PredictedErrorHalting(nn.Module):
    """predicted_error_t = exp(linear(sync_out_t)); certainty_t = exp(-predicted_error_t).

    A sample halts at inference at its first tick with predicted error <= ``max_error`` (certainty >=
    exp(-max_error)); without one it runs every tick and uses the tick predicted to be best.

    Args:
        max_error: error budget in normalised action units (mean |error| per chunk entry); set it from
            ``polibench calibrate`` for a tolerance. None: never halt early.
        tolerance: state the accuracy to give up instead of a budget: every evaluation of the run first calibrates
            ``max_error`` for this mean excess error on the run's validation windows (as ``polibench calibrate``
            does) and records the budget beside its metrics. Give ``max_error`` or ``tolerance``, not both.
        enabled: halt at inference; off, every call runs all ticks.
    """

    #: (per-tick extra that calibration budgets, the parameter the budget sets)
    calibrated_by = ("predicted_error", "max_error")

    def __init__(self, n_sync_out: int, max_error: float | None = None, enabled: bool = True,
                 tolerance: float | None = None) -> None:
        super().__init__()
        if max_error is not None and not max_error > 0:
            raise ValueError(f"halting.predicted_error.max_error must be > 0 or None, got {max_error}")
        check_budget_or_tolerance("predicted_error", "max_error", max_error, tolerance)
        self.max_error = max_error
        self.tolerance = tolerance
        self.enabled = enabled
        # named apart from the variance rule's ``head`` (same shape), so weights trained for one rule never load
        # silently as the other's
        self.error_head = nn.Linear(n_sync_out, 1)

    @property
    def threshold(self) -> float:
        """The certainty the core compares with (infinite without a budget: nothing halts)."""
        return math.inf if self.max_error is None else math.exp(-self.max_error)

    def forward(self, sync_out: torch.Tensor, chunk: torch.Tensor,
                previous: torch.Tensor | None) -> dict[str, torch.Tensor]:
        predicted = self.error_head(sync_out).squeeze(-1).float().clamp(max=10.0).exp()
        return {"certainty": torch.exp(-predicted), "predicted_error": predicted}


@register("loss", "error_prediction")
class ErrorPrediction(LossTerm):
    """|log(predicted_error_t) - log(realised_error_t + eps)| per tick: the error head learns each tick's own
    masked L1 error (detached, so this term never reweights the action loss). Log space, because a tick's error
    spans orders of magnitude between a rough first tick and a refined last one. Zero for other halting rules.

    Args:
        eps: floor of the realised error (normalised action units), so a perfect chunk does not demand -inf.
    """

    name = "error_prediction"

    def __init__(self, weight: float = 0.1, eps: float = 1e-3) -> None:
        super().__init__(weight)
        self.eps = eps

    def __call__(self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if "predicted_error" not in outputs:
            return outputs["certainty"].new_zeros(())
        realised = per_tick_error(outputs["tick_actions"].detach().float(), batch["action"], batch["action_is_pad"])
        return (outputs["predicted_error"].log() - (realised + self.eps).log()).abs().mean()
