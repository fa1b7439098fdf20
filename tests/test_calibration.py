"""Predicted-error halting: the error head learns each tick's error, and a tolerance calibrates when to stop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from polibench import registry
from polibench.data.windows import WindowSampler
from polibench.evaluation.calibration import TickErrors, calibrate, collect_tick_errors, compute_curve, excess_error
from tests.test_ctm_act import make_ctm
from tests.training import fit_steps, fixed_loss


def synthetic(n: int = 400, ticks: int = 8, noise: float = 0.0, seed: int = 0) -> TickErrors:
    """Errors that fall over ticks at a random per-window rate, predicted with optional noise."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0.2, 1.5, size=(n, 1))
    realised = 0.05 + 0.5 * np.exp(-rate * np.arange(ticks))
    return TickErrors(realised * np.exp(noise * rng.standard_normal(realised.shape)), realised)


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_calibration_keeps_the_excess_within_tolerance_and_halts_earlier_as_it_grows(noise):
    errors = synthetic(noise=noise)
    results = [calibrate(errors, tol) for tol in (0.0, 0.01, 0.05, 0.2, 10.0)]
    for c in results[1:]:
        assert c.excess <= c.tolerance + 1e-12
        assert c.excess == pytest.approx(excess_error(errors, c.max_error)[0])
    ticks = [c.mean_ticks for c in results]
    assert all(a >= b for a, b in zip(ticks, ticks[1:]))
    assert ticks[1] < errors.predicted.shape[1]  # 0.01 of excess already buys early halting
    assert results[-1].mean_ticks == 1.0  # any excess allowed: stop at the first tick
    if noise == 0.0:  # exact predictions: no excess at all needs every window's best (last) tick
        assert results[0].excess == 0.0


def test_the_curve_runs_from_all_ticks_to_one():
    curve = compute_curve(synthetic(noise=0.3))
    ticks = [t for _, _, t in curve]
    assert all(a >= b for a, b in zip(ticks, ticks[1:]))  # a larger budget never halts a window later
    assert ticks[0] > 6.0 and ticks[-1] == 1.0


def test_bad_error_arrays_and_tolerances_are_refused():
    with pytest.raises(ValueError, match="equal, non-empty"):
        TickErrors(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        calibrate(synthetic(), -0.1)


def test_the_error_head_learns_tick_errors_and_a_budget_halts_real_calls_early(small_data):
    torch.manual_seed(0)
    halting = registry.get("halting", "predicted_error")
    losses = [registry.create("loss", "ctm_tick"), registry.create("loss", "error_prediction", weight=1.0),
              registry.create("loss", "kl")]
    policy = make_ctm(small_data, ticks=4, halting=halting, losses=losses, temporal_ensemble_coeff=None)
    sampler = WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
    batch = sampler.sample(64, torch.Generator().manual_seed(1))
    before = fixed_loss(policy, batch, "error_prediction")
    fit_steps(policy, sampler, 60)
    assert fixed_loss(policy, batch, "error_prediction") < 0.75 * before
    errors = collect_tick_errors(policy, sampler, batches=2, batch_size=32)
    assert errors.predicted.shape == errors.realised.shape == (64, 4)
    assert (errors.predicted > 0).all() and (errors.realised > 0).all()
    generous = calibrate(errors, 10.0)
    policy.core.halting.max_error = generous.max_error
    obs = {k: torch.as_tensor(v[:8])[:, None] for k, v in small_data.obs.items()}
    policy.eval()
    policy.predict_chunk(obs)
    assert (policy.last_call.ticks == 1).all()
    policy.core.halting.max_error = None  # no budget: every call thinks all ticks
    policy.predict_chunk(obs)
    assert (policy.last_call.ticks == 4).all()


def test_a_non_positive_budget_is_refused():
    with pytest.raises(ValueError, match="max_error must be > 0"):
        registry.create("halting", "predicted_error", n_sync_out=4, max_error=0.0)
