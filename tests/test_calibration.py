"""Predicted-error halting: the error head learns each tick's error, and a tolerance calibrates when to stop."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from polibench import registry
from polibench.cli import main
from polibench.config import CONFIG_DIR
from polibench.ctm.calibration import TickErrors, calibrate, collect_tick_errors, compute_curve, excess_error
from polibench.data.windows import WindowSampler
from polibench.io import read_json
from polibench.rundir import calibration_file
from polibench.viz.figures.halting import halting_study_figure
from polibench.viz.figures.save import png_bytes
from tests.test_ctm_act import make_ctm
from tests.tiny_run import TINY
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


def test_a_tolerance_never_halting_exceeds_is_reported_unmet_with_every_tick_run():
    """A rule that ranks ticks backwards picks a bad tick even when it never halts: then no budget meets a small
    tolerance, the calibration says so, and its compute is every tick (a window that never halts runs all T)."""
    good = synthetic()
    backwards = TickErrors(good.predicted[:, ::-1].copy(), good.realised)
    result = calibrate(backwards, 0.001)
    assert not result.met and result.excess > 0.001
    assert result.mean_ticks == backwards.predicted.shape[1]
    assert calibrate(good, 0.001).met


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


def tiny_ctm_run(out, halting: str, *extra: str) -> list[str]:
    """`polibench run` arguments of a tiny but real 3-tick CTM-ACT run with the halting rule ``halting``."""
    losses = "[@loss.ctm_tick(), @loss.error_prediction(), @loss.kl()]"
    args = ["run", str(CONFIG_DIR / "ctm_act_mlp.gin"), "--out", str(out), "--no-progress"]
    for b in [*(t for t in TINY if not t.startswith("policy.act.")), "policy.ctm_act.dim = 32",
              "policy.ctm_act.ff_dim = 64", "policy.ctm_act.encoder_layers = 1", "policy.ctm_act.vae_layers = 1",
              "policy.ctm_act.horizon = 8", "policy.ctm_act.neurons = 32", "policy.ctm_act.memory = 4",
              "policy.ctm_act.ticks = 3", "policy.ctm_act.action_pairs = 8", "policy.ctm_act.out_pairs = 16",
              f"policy.ctm_act.halting = @halting.{halting}", f"policy.ctm_act.losses = {losses}", *extra]:
        args += ["--gin_param", b]
    return args


def test_calibrate_is_refused_while_another_process_writes_the_run(tmp_path, capsys):
    """calibrate writes into the run directory, so it takes the run's lock: refused while a run or an evaluation
    holds it, writing nothing."""
    from polibench.cli import EXIT_USER_ERROR
    from polibench.locking import exclusive

    out = tmp_path / "run"
    assert main(tiny_ctm_run(out, "predicted_error")) == 0
    before = sorted(p.name for p in out.iterdir())
    with exclusive(out, "run directory"):
        assert main(["calibrate", str(out), "--tolerance", "0.5", "--batches", "1"]) == EXIT_USER_ERROR
    assert f"run directory {out} is being written by another polibench process" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == before and not (out / calibration_file("predicted_error")).exists()


def test_a_tolerance_is_calibrated_by_every_evaluation_of_the_run(tmp_path):
    """A rule given a tolerance instead of a budget: the run's own evaluation and `polibench eval` calibrate the
    budget on the run's validation windows exactly as `polibench calibrate` does, record it with the metrics and
    evaluate at it; a budget given beside a tolerance is refused."""
    out = tmp_path / "run"
    assert main(tiny_ctm_run(out, "predicted_error", "halting.predicted_error.tolerance = 0.5")) == 0
    recorded = read_json(out / "eval" / "metrics.json")["config"]["halting_calibration"]
    assert main(["calibrate", str(out), "--tolerance", "0.5"]) == 0
    (by_command,) = read_json(out / calibration_file("predicted_error"))["calibrations"]
    assert recorded["binding"] == "halting.predicted_error.max_error" and recorded["tolerance"] == 0.5
    assert {k: recorded[k] for k in by_command} == by_command
    again = tmp_path / "again"
    fixed = tmp_path / "fixed"
    assert main(["eval", str(out), "--episodes", "1", "--max-steps", "16", "--no-progress", "--out", str(again)]) == 0
    assert read_json(again / "metrics.json")["config"]["halting_calibration"] == recorded
    assert main(["eval", str(out), "--episodes", "1", "--max-steps", "16", "--no-progress", "--out", str(fixed),
                 "--gin_param", "halting.predicted_error.tolerance = None",
                 "--gin_param", f"halting.predicted_error.max_error = {recorded['max_error']}"]) == 0
    assert "halting_calibration" not in read_json(fixed / "metrics.json")["config"]
    assert (read_json(fixed / "metrics.json")["summary"]["ticks_per_call"]
            == read_json(again / "metrics.json")["summary"]["ticks_per_call"])  # same budget, same halting
    with pytest.raises(ValueError, match=r"both max_error = 0.1 and tolerance = 0.5: give one.*tolerance = None"):
        registry.create("halting", "predicted_error", n_sync_out=4, max_error=0.1, tolerance=0.5)
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        registry.create("halting", "convergence", n_sync_out=4, tolerance=-1.0)


@pytest.mark.parametrize("halting, binding", [("predicted_error", "halting.predicted_error.max_error"),
                                               ("convergence", "halting.convergence.max_change")])
def test_calibrate_command_writes_budgets_from_the_runs_validation_windows(tmp_path, halting, binding):
    """A real tiny CTM-ACT run, then `polibench calibrate`: budgets per tolerance, reliability per tick, the curve;
    and the printed binding evaluates."""
    out = tmp_path / halting
    assert main(tiny_ctm_run(out, halting)) == 0
    assert main(["calibrate", str(out), "--tolerance", "0.01,1.0", "--batches", "2"]) == 0
    doc = read_json(out / calibration_file(halting))
    assert doc["binding"] == binding and doc["ticks"] == 3 and doc["windows"] == 128
    assert [c["tolerance"] for c in doc["calibrations"]] == [0.01, 1.0]
    assert all(c["excess"] <= c["tolerance"] or c["mean_ticks"] == 3 for c in doc["calibrations"])
    assert [r["tick"] for r in doc["reliability"]] == [1, 2, 3] and len(doc["curve"]) > 1
    assert png_bytes(halting_study_figure({halting: [("seed0", doc), ("again", doc)]}, [])).startswith(b"\x89PNG")
    budget = doc["calibrations"][1]["max_error"]
    assert main(["eval", str(out), "--episodes", "1", "--max-steps", "16", "--no-progress", "--out",
                 str(tmp_path / f"eval_{halting}"), "--gin_param", f"{binding} = {budget}"]) == 0
    from polibench.viz.halting import halting_figures
    manifest = json.loads(halting_figures([out / calibration_file(halting)], [], tmp_path / "figures").read_text())
    assert [f["file"] for f in manifest["figures"]] == ["halting_study.png"]
    other = tmp_path / "seed1" / calibration_file(halting)  # a second seed of the same rule: one figure, two lines
    other.parent.mkdir()
    other.write_text((out / calibration_file(halting)).read_text())
    manifest = json.loads(halting_figures([out / calibration_file(halting), other], [],
                                          tmp_path / "figures2").read_text())
    (entry,) = manifest["figures"]
    assert entry["file"] == "halting_study.png" and str(other.parent) in manifest["run"]
    assert calibration_file(halting) in entry["caption"]
    if halting == "predicted_error":
        check_parameter_free_rule_on_the_same_weights(out, tmp_path)


def check_parameter_free_rule_on_the_same_weights(run, tmp_path):
    """Convergence halting, which has no weights, calibrates and evaluates on weights trained with the
    predicted-error head (left unused), into its own calibration file; a rule with weights of its own does not
    load."""
    swap = "policy.ctm_act.halting = @halting.convergence"
    assert main(["calibrate", str(run), "--tolerance", "0.01", "--batches", "1", "--gin_param", swap]) == 0
    doc = read_json(run / calibration_file("convergence"))
    assert doc["binding"] == "halting.convergence.max_change" and doc["gin_params"] == [swap]
    assert (run / calibration_file("predicted_error")).exists()  # the trained rule's calibration is kept
    budget = doc["calibrations"][0]["max_error"]
    assert main(["eval", str(run), "--episodes", "1", "--max-steps", "16", "--no-progress", "--out",
                 str(tmp_path / "eval_swapped"), "--gin_param", swap,
                 "--gin_param", f"halting.convergence.max_change = {budget}"]) == 0
    assert main(["eval", str(run), "--episodes", "1", "--max-steps", "16", "--no-progress", "--out",
                 str(tmp_path / "eval_variance"), "--gin_param", "policy.ctm_act.halting = @halting.variance"]) != 0
