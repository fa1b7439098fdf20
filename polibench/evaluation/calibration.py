"""Calibrating a halting rule on validation windows: how early can a CTM call stop for a given cost in error?

For every validation window we run all T ticks and record each tick's realised chunk error (masked mean |error|,
normalised units, as the training loss) and the halting rule's predicted error. A budget ``max_error`` halts a
window at its first tick predicted within the budget (else at the tick predicted best); its *excess* is the
realised error there minus the window's best tick's. :func:`calibrate` picks the largest budget (earliest halting)
whose mean excess stays within a tolerance, so the user states the accuracy they are willing to give up, not a
certainty number. Windows come from the run's validation episodes, never the evaluation seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from components.loss.ctm_tick import per_tick_error
from polibench.data.windows import WindowSampler
from polibench.policy import Policy


@dataclass(frozen=True)
class TickErrors:
    """Per validation window and tick: the predicted and the realised chunk error, each [N, T]."""

    predicted: np.ndarray
    realised: np.ndarray

    def __post_init__(self) -> None:
        if self.predicted.shape != self.realised.shape or self.predicted.ndim != 2 or not self.predicted.size:
            raise ValueError(f"predicted and realised errors must be equal, non-empty [N, T] arrays, got "
                             f"{self.predicted.shape} and {self.realised.shape}")


@dataclass(frozen=True)
class Calibration:
    """The chosen budget and what it costs and saves on the calibration windows."""

    tolerance: float
    max_error: float
    mean_ticks: float
    excess: float
    ticks: int


def halting_ticks(predicted: np.ndarray, max_error: float) -> np.ndarray:
    """Index of each window's halting tick [N]: its first tick predicted within budget, else its predicted best."""
    within = predicted <= max_error
    return np.where(within.any(axis=1), within.argmax(axis=1), predicted.argmin(axis=1))


def excess_error(errors: TickErrors, max_error: float) -> tuple[float, float]:
    """(mean excess error over the best tick, mean ticks run) when halting with budget ``max_error``."""
    tick = halting_ticks(errors.predicted, max_error)
    rows = np.arange(len(tick))
    return (float(np.mean(errors.realised[rows, tick] - errors.realised.min(axis=1))), float(np.mean(tick + 1)))


def compute_curve(errors: TickErrors, budgets: np.ndarray | None = None) -> list[tuple[float, float, float]]:
    """(budget, mean excess, mean ticks) for budgets spanning the predicted errors (200 quantiles by default):
    the accuracy-compute trade-off the knob moves along."""
    if budgets is None:
        budgets = np.unique(np.quantile(errors.predicted, np.linspace(0.0, 1.0, 200)))
    return [(float(b), *excess_error(errors, float(b))) for b in budgets]


def calibrate(errors: TickErrors, tolerance: float) -> Calibration:
    """The largest budget among the predicted errors whose mean excess error is at most ``tolerance``."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    candidates = np.unique(errors.predicted)  # every budget that changes some window's halting tick
    best = (float(candidates[0]) * 0.5, *excess_error(errors, float(candidates[0]) * 0.5))  # below all: no early halt
    for budget in candidates:  # excess is not monotone in the budget in general: check each
        excess, ticks = excess_error(errors, float(budget))
        if excess <= tolerance:
            best = (float(budget), excess, ticks)
    return Calibration(tolerance, best[0], best[2], best[1], errors.predicted.shape[1])


@torch.no_grad()
def collect_tick_errors(policy: Policy, sampler: WindowSampler, batches: int = 8, batch_size: int = 64,
                        seed: int = 0, error_key: str = "predicted_error") -> TickErrors:
    """Every tick's predicted (``error_key`` of the halting rule's extras) and realised error on ``batches``
    batches of windows, with all ticks and the observation-only input inference sees (no CVAE posterior)."""
    core = getattr(policy, "core", None)
    if core is None:
        raise ValueError(f"{type(policy).__name__} has no CTM core: only CTM policies halt")
    was_training = policy.training
    policy.eval()
    gen = torch.Generator().manual_seed(seed)
    predicted, realised = [], []
    try:
        for _ in range(batches):
            batch = policy.normalize_batch(sampler.sample(batch_size, gen))
            memory, _ = policy.encoder({k: batch[k] for k in policy.spec.obs_shapes})
            out = core(memory, policy.max_ticks)
            if error_key not in out.extras:
                raise ValueError(f"the halting rule {type(core.halting).__name__} predicts no {error_key!r}; "
                                 f"calibration needs halting.predicted_error")
            predicted.append(out.extras[error_key].float().cpu())
            realised.append(per_tick_error(out.predictions.float(), batch["action"], batch["action_is_pad"]).cpu())
    finally:
        policy.train(was_training)
    return TickErrors(torch.cat(predicted).numpy(), torch.cat(realised).numpy())
