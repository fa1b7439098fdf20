"""Calibrating a halting rule on validation windows: how early can a CTM call stop for a given cost in error?

For every validation window we run all T ticks and record each tick's realised chunk error (masked mean |error|,
normalised units, as the training loss) and the halting rule's predicted error. A budget ``max_error`` halts a
window at its first tick predicted within the budget (else at the tick predicted best); its *excess* is the
realised error there minus the window's best tick's. :func:`calibrate` picks the largest budget (earliest halting)
whose mean excess stays within a tolerance, so the user states the accuracy they are willing to give up, not a
certainty number. Windows come from the run's validation episodes, never the evaluation seeds.

A rule configured with a ``tolerance`` instead of a budget is calibrated by every evaluation of the run
(:func:`apply_tolerance`), with the same windows as ``polibench calibrate``, so a config can state "halt within 0.04
of the best tick" and every seed evaluates at its own budget without a second command.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from polibench import registry
from polibench.api import load_policy
from polibench.console import console
from polibench.ctm.tick_error import per_tick_error
from polibench.data.windows import WindowSampler
from polibench.experiment import validation_sampler
from polibench.io import write_json
from polibench.locking import exclusive
from polibench.policy import Policy
from polibench.rundir import calibration_file

#: Batches of 64 validation windows a calibration reads (`polibench calibrate --batches`, and every evaluation of a
#: rule given a tolerance), from generator seed 0: the same weights always get the same budget.
CALIBRATION_BATCHES = 16


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

    @property
    def met(self) -> bool:
        """False when even never halting exceeds the tolerance (the rule's own choice of tick costs more)."""
        return self.excess <= self.tolerance


def halting_ticks(predicted: np.ndarray, max_error: float) -> np.ndarray:
    """Index of each window's halting tick [N]: its first tick predicted within budget, else its predicted best."""
    within = predicted <= max_error
    return np.where(within.any(axis=1), within.argmax(axis=1), predicted.argmin(axis=1))


def excess_error(errors: TickErrors, max_error: float) -> tuple[float, float]:
    """(mean excess error over the best tick, mean ticks run) when halting with budget ``max_error``: a window
    that halts runs its ticks up to the halting tick; one that never does runs all T (and uses its predicted best)."""
    tick = halting_ticks(errors.predicted, max_error)
    rows = np.arange(len(tick))
    halted = (errors.predicted <= max_error).any(axis=1)
    ran = np.where(halted, tick + 1, errors.predicted.shape[1])
    return float(np.mean(errors.realised[rows, tick] - errors.realised.min(axis=1))), float(np.mean(ran))


def compute_curve(errors: TickErrors, budgets: np.ndarray | None = None) -> list[tuple[float, float, float]]:
    """(budget, mean excess, mean ticks) for budgets spanning the predicted errors (200 quantiles by default):
    the accuracy-compute trade-off the knob moves along."""
    if budgets is None:
        finite = errors.predicted[np.isfinite(errors.predicted)]
        budgets = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, 200)))
    return [(float(b), *excess_error(errors, float(b))) for b in budgets]


def calibrate(errors: TickErrors, tolerance: float) -> Calibration:
    """The largest budget among the predicted errors whose mean excess error is at most ``tolerance``."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    # every budget that changes some window's halting tick; an infinite score (convergence's first tick) is never one
    candidates = np.unique(errors.predicted[np.isfinite(errors.predicted)])
    best = (float(candidates[0]) * 0.5, *excess_error(errors, float(candidates[0]) * 0.5))  # below all: no early halt
    for budget in candidates:  # excess is not monotone in the budget in general: check each
        excess, ticks = excess_error(errors, float(budget))
        if excess <= tolerance:
            best = (float(budget), excess, ticks)
    return Calibration(tolerance, best[0], best[2], best[1], errors.predicted.shape[1])


def budget_of(halting: object) -> tuple[str, str]:
    """(the per-tick extra a halting rule's budget applies to, the parameter that sets the budget)."""
    calibrated_by = getattr(halting, "calibrated_by", None)
    if calibrated_by is None:
        raise ValueError(f"the halting rule {type(halting).__name__} has no calibratable budget; calibration needs "
                         f"halting.predicted_error or halting.convergence")
    return calibrated_by


@torch.no_grad()
def collect_tick_errors(policy: Policy, sampler: WindowSampler, batches: int = CALIBRATION_BATCHES,
                        batch_size: int = 64, seed: int = 0) -> TickErrors:
    """Every tick's budgeted score (the halting rule's predicted error, or chunk change) and realised error on
    ``batches`` batches of windows, with all ticks and the observation-only input inference sees (no CVAE
    posterior)."""
    core = getattr(policy, "core", None)
    if core is None:
        raise ValueError(f"{type(policy).__name__} has no CTM core: only CTM policies halt")
    error_key, _ = budget_of(core.halting)
    was_training = policy.training
    policy.eval()
    gen = torch.Generator().manual_seed(seed)
    predicted, realised = [], []
    try:
        for _ in range(batches):
            batch = policy.normalize_batch(sampler.sample(batch_size, gen))
            memory, _ = policy.encoder({k: batch[k] for k in policy.spec.obs_shapes})
            out = core(memory, policy.max_ticks)
            predicted.append(out.extras[error_key].float().cpu())
            realised.append(per_tick_error(out.predictions.float(), batch["action"], batch["action_is_pad"]).cpu())
    finally:
        policy.train(was_training)
    return TickErrors(torch.cat(predicted).numpy(), torch.cat(realised).numpy())


def apply_tolerance(policy: Policy, sampler: Callable[[], WindowSampler]) -> dict[str, Any] | None:
    """Where the policy's halting rule is given a ``tolerance``, calibrate its budget for it on the validation
    windows ``sampler()`` returns and set it on the rule; the calibration as a record for the evaluation's metrics
    (None where there is nothing to calibrate: no CTM core, halting off, or a budget given)."""
    halting = getattr(getattr(policy, "core", None), "halting", None)
    tolerance = getattr(halting, "tolerance", None)
    if tolerance is None or not halting.enabled:
        return None
    result = calibrate(collect_tick_errors(policy, sampler()), tolerance)
    _, param = budget_of(halting)
    setattr(halting, param, result.max_error)
    binding = f"halting.{_registered_name(halting)}.{param}"
    console.print(f"halting calibrated for tolerance {tolerance:g} on the run's validation windows: {binding} = "
                  f"{result.max_error:.6g} (mean ticks {result.mean_ticks:.2f} of {result.ticks}, excess error "
                  f"{result.excess:.4f}{'' if result.met else ', tolerance not met'})", soft_wrap=True)
    return {"binding": binding, **asdict(result), "met": result.met}


def reliability(errors: TickErrors) -> list[dict[str, float | None]]:
    """Per tick: mean predicted and mean realised error, and their rank correlation over windows. A tick whose
    score is not finite (convergence's first tick has no change yet) has no predicted mean (None)."""
    rows: list[dict[str, float | None]] = []
    for t in range(errors.predicted.shape[1]):
        p, r = errors.predicted[:, t], errors.realised[:, t]
        finite = np.isfinite(p)
        p, r_f = p[finite], r[finite]
        rank = (float(np.corrcoef(np.argsort(np.argsort(p)), np.argsort(np.argsort(r_f)))[0, 1])
                if len(p) > 1 and np.ptp(p) > 0 else None)
        rows.append({"tick": t + 1, "predicted": float(p.mean()) if len(p) else None, "realised": float(r.mean()),
                     "rank_corr": rank})
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a trained CTM-ACT run whose halting rule has a budget "
                                        "(halting.predicted_error, halting.convergence)")
    parser.add_argument("--tolerance", default="0.002,0.005,0.01,0.02",
                        help="comma-separated mean excess errors (normalised action units) to calibrate for")
    parser.add_argument("--batches", type=int, default=CALIBRATION_BATCHES, help="batches of 64 validation windows")
    parser.add_argument("--gin_param", "--gin-param", action="append", default=[],
                        help="inference-time binding, e.g. a parameter-free rule on the same weights: "
                             "'policy.ctm_act.halting = @halting.convergence'")
    parser.add_argument("--device", default="auto")


def main(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    tolerances = [_tolerance(t) for t in args.tolerance.split(",") if t.strip()]
    policy = load_policy(run_dir, device=args.device, gin_params=args.gin_param)  # fails here, before the lock
    halting = getattr(getattr(policy, "core", None), "halting", None)
    if halting is None:
        raise ValueError(f"{run_dir} trained {type(policy).__name__}, which has no halting rule: calibrate needs a "
                         "CTM-ACT run (policy.ctm_act) with halting.predicted_error or halting.convergence")
    rule = _registered_name(halting)
    out = run_dir / calibration_file(rule)
    with exclusive(run_dir, "run directory"):  # no run or eval may write the directory meanwhile
        errors = collect_tick_errors(policy, validation_sampler(run_dir, policy), batches=args.batches)
        results = [calibrate(errors, tol) for tol in tolerances]
        binding = f"halting.{rule}.{budget_of(policy.core.halting)[1]}"
        write_json(out, {
            "binding": binding, "gin_params": list(args.gin_param),
            "windows": int(errors.predicted.shape[0]), "ticks": int(errors.predicted.shape[1]),
            "calibrations": [asdict(c) | {"met": c.met} for c in results], "reliability": reliability(errors),
            "curve": [{"max_error": b, "excess": e, "mean_ticks": t} for b, e, t in compute_curve(errors)]})
    given = "".join(f"--gin_param {shlex.quote(b)} " for b in args.gin_param)
    for c in results:
        console.print(f"tolerance {c.tolerance:g}: {given}--gin_param '{binding} = {c.max_error:.6g}' "
                      f"(mean ticks {c.mean_ticks:.2f} of {c.ticks}, excess error {c.excess:.4f})"
                      + ("" if c.met else " - not met: never halting already exceeds the tolerance, since the tick "
                                         "the rule picks when it does not halt is not the best one"))
    console.print(f"[green]written: {out}")
    return 0


def _tolerance(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--tolerance {text.strip()!r} is not a number: give mean excess errors such as "
                         "0.005,0.01") from None


def _registered_name(part: object) -> str:
    """The registry name of a built halting rule (its gin selector is ``halting.<name>``)."""
    return next(e.name for e in registry.entries("halting") if isinstance(part, e.obj))
