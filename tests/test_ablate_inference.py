"""`polibench ablate-inference`: a tiny real CTM-ACT sweep (2 training seeds) re-evaluated with halting on and off,
its sweep directory and results, resume, and the clear errors (other values, no weights, bad binding)."""

from __future__ import annotations

import argparse
import json
import shutil

import pytest

from polibench.cli import main as polibench
from polibench.config import CONFIG_DIR
from polibench.rundir import RunDirError
from polibench.sweep import inference
from polibench.sweep.axes import AxisError
from tests.test_viz import BUDGET, CTM_TINY

BINDING = "halting.variance.enabled"
TICKS = 4  # policy.ctm_act.ticks in CTM_TINY

pytestmark = pytest.mark.usefixtures("data_env")


def ablate_inference(out, *runs, values: str = "True,False", extra: tuple[str, ...] = (), axis: str = BINDING) -> int:
    """`polibench ablate-inference` through its own argument parser, as the CLI calls it."""
    parser = argparse.ArgumentParser()
    inference.add_arguments(parser)
    argv = ["--axis", axis, "--values", values, "--out", str(out), "--no-progress", *extra]
    for run in runs:
        argv += ["--runs", str(run)]
    return inference.main(parser.parse_args(argv))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny real sweep of CTM-ACT: one variant (ticks 4), training seeds 0 and 1."""
    out = tmp_path_factory.mktemp("trained") / "ticks"
    args = ["ablate", "--axis", "policy.ctm_act.ticks", "--values", str(TICKS), "--base",
            str(CONFIG_DIR / "ctm_act_unet.gin"), "--seeds", "2", "--out", str(out), "--no-progress"]
    for binding in [*BUDGET, *CTM_TINY]:
        args += ["--gin_param", binding]
    assert polibench(args) == 0
    return out


@pytest.fixture(scope="module")
def ablation(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("inference") / "halting"
    assert ablate_inference(out, trained, extra=("--variants", str(TICKS))) == 0
    return out


def test_writes_a_sweep_directory_over_the_source_weights(trained, ablation):
    results = json.loads((ablation / "results.json").read_text())
    assert results["axis"] == BINDING and results["target"] == BINDING and results["seeds"] == [0, 1]
    assert [v["name"] for v in results["variants"]] == ["True", "False"]
    assert all(v["n_seeds"] == 2 and v["n_episodes"] == 4 for v in results["variants"])
    off = results["variants"][1]["metrics"]["ticks_per_call"]
    assert off["mean"] == TICKS and off["seed_means"] == [TICKS, TICKS]  # no halting: every call runs every tick
    assert (ablation / "results.md").exists() and (ablation / "results.png").exists()

    record = json.loads((ablation / "sweep.json").read_text())
    assert record["inference_only"] and record["target"] == BINDING
    assert record["command"].startswith(f"polibench ablate-inference --axis {BINDING} --values True,False")
    assert record["source_runs"] == {f"seed{k}": str(trained / "variants" / str(TICKS) / f"seed{k}") for k in (0, 1)}
    assert record["variants"]["False"] == {"gin_params": [f"{BINDING} = False"],
                                           "runs": ["variants/False/seed0", "variants/False/seed1"]}
    for value in ("True", "False"):
        for k in (0, 1):
            run, source = ablation / "variants" / value / f"seed{k}", trained / "variants" / str(TICKS) / f"seed{k}"
            assert (run / "config.gin").read_text() == (source / "config.gin").read_text()
            assert json.loads((run / "run.json").read_text())["seed"] == k
            assert json.loads((run / "source_run.json").read_text())["run_dir"] == str(source)
            command = json.loads((run / "eval" / "eval_command.json").read_text())
            assert command["gin_params"] == [f"{BINDING} = {value}"] and command["episodes"] == 2
    assert not list(ablation.rglob("*.safetensors")) and not list(ablation.rglob("checkpoints"))


def test_rerun_skips_finished_evaluations(trained, ablation):
    metrics = {p: p.stat().st_mtime_ns for p in ablation.glob("variants/*/seed*/eval/metrics.json")}
    redo = ablation / "variants" / "True" / "seed1" / "eval" / "metrics.json"
    redo.unlink()
    assert ablate_inference(ablation, trained, extra=("--variants", str(TICKS))) == 0
    after = {p: p.stat().st_mtime_ns for p in ablation.glob("variants/*/seed*/eval/metrics.json")}
    assert after.keys() == metrics.keys() and {p for p in after if after[p] != metrics[p]} == {redo}


def test_other_values_for_the_same_out_are_refused(trained, ablation):
    with pytest.raises(RunDirError, match="with other variants .* rerun that command or choose another --out"):
        ablate_inference(ablation, trained, values="True", extra=("--variants", str(TICKS)))
    with pytest.raises(RunDirError, match="with other target, variants"):
        ablate_inference(ablation, trained, values="0.5", axis="halting.variance.threshold",
                         extra=("--variants", str(TICKS)))


def test_a_run_without_weights_names_the_command_that_makes_them(trained, tmp_path):
    run = tmp_path / "unfinished"
    run.mkdir()
    for name in ("config.gin", "run.json"):
        shutil.copy(trained / "variants" / str(TICKS) / "seed0" / name, run / name)
    with pytest.raises(RunDirError, match=r"no trained weights .* `polibench run CONFIG --out .*unfinished --resume`"):
        ablate_inference(tmp_path / "out", run)
    with pytest.raises(RunDirError, match="Regenerate them with `polibench ablate --axis policy.ctm_act.ticks"):
        (trained / "variants" / str(TICKS) / "seed1" / "model.safetensors").rename(tmp_path / "moved")
        try:
            ablate_inference(tmp_path / "out", trained)
        finally:
            (tmp_path / "moved").rename(trained / "variants" / str(TICKS) / "seed1" / "model.safetensors")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("binding, message", [
    ("halting.variance.enabld", "Did you mean 'halting.variance.enabled'?"),
    ("policy.diffusion.num_inference_steps", "does not build policy.diffusion.num_inference_steps"),
])
def test_a_bad_binding_is_a_clear_error_before_any_evaluation(trained, tmp_path, binding, message):
    """AxisError is a ValueError: the CLI prints it in one line."""
    with pytest.raises(AxisError, match=message):
        ablate_inference(tmp_path / "out", trained, values="1,2", axis=binding)
    assert not (tmp_path / "out").exists()


def test_shared_bindings_reach_every_value_and_are_recorded(trained, tmp_path):
    """--gin_param applies to every value (here: two ticks per call), is in each evaluation's command and in
    sweep.json, and rerunning without it is refused rather than mixed in."""
    out, shared = tmp_path / "shared", "policy.ctm_act.ticks = 2"
    seed0 = trained / "variants" / str(TICKS) / "seed0"
    assert ablate_inference(out, seed0, extra=("--gin_param", shared)) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["variants"][1]["metrics"]["ticks_per_call"]["mean"] == 2
    command = json.loads((out / "variants" / "False" / "seed0" / "eval" / "eval_command.json").read_text())
    assert command["gin_params"] == [shared, f"{BINDING} = False"]
    record = json.loads((out / "sweep.json").read_text())
    assert record["gin_params"] == [shared] and f"--gin_param '{shared}'" in record["command"]
    with pytest.raises(RunDirError, match="other gin_params"):
        inference.ablate_inference(inference.InferenceSpec(BINDING, ["True", "False"], [seed0], None, out))


def test_halting_figures_draw_an_inference_sweep_as_accuracy_against_compute(ablation, tmp_path):
    from polibench.viz.halting import main as halting_viz

    assert halting_viz(["--sweep", f"variance={ablation}", "--difficulty", str(ablation / "variants" / "True"),
                        "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "figures.json").read_text())
    files = [f["file"] for f in manifest["figures"]]
    assert files == ["halting_study.png", "ticks_by_difficulty_True.png"]
    assert "All 4 evaluation episodes of 2 training seeds" in manifest["figures"][-1]["caption"]
    assert all((tmp_path / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in files)
    with pytest.raises(SystemExit):
        halting_viz(["--sweep", str(ablation), "--out", str(tmp_path)])  # no LABEL=


def test_a_parameter_free_rule_swapped_in_is_swept_by_its_default_parameters(trained, tmp_path):
    """Convergence halting on weights trained with the variance rule: its budget is left at its default in the
    run's config, yet it is a parameter the swapped-in rule builds, so the sweep runs (a larger budget never halts
    later)."""
    out = tmp_path / "convergence"
    seed0 = trained / "variants" / str(TICKS) / "seed0"
    assert ablate_inference(out, seed0, axis="halting.convergence.max_change", values="0.0001,100.0",
                            extra=("--gin_param", "policy.ctm_act.halting = @halting.convergence")) == 0
    variants = json.loads((out / "results.json").read_text())["variants"]
    tight, loose = (v["metrics"]["ticks_per_call"]["mean"] for v in variants)
    assert loose <= tight and loose == 2  # the first tick has no predecessor: convergence halts at tick 2 at best


def test_calibrated_tolerances_evaluate_each_run_at_its_own_budget(trained, tmp_path):
    """--tolerances: each training seed is calibrated on its own validation windows, and the variant
    tolerance_<t> evaluates every seed at the budget its own calibration chose; a missing
    calibration, a missing tolerance or a calibration under other bindings is refused with the command that fixes
    it, before any evaluation."""
    from polibench.io import read_json

    swap, axis = "policy.ctm_act.halting = @halting.convergence", "halting.convergence.max_change"
    seeds = trained / "variants" / str(TICKS)
    copies = tmp_path / "runs"
    shutil.copytree(seeds, copies / "variants" / str(TICKS), ignore=shutil.ignore_patterns("eval"))
    shutil.copy(trained / "sweep.json", copies / "sweep.json")
    out = tmp_path / "calibrated"
    with pytest.raises(RunDirError, match=r"has no calibration_convergence.json: calibrate it first with "
                                          r"`polibench calibrate .*seed0 --tolerance 0.01,1 --gin_param"):
        ablate_inference(out, copies, values="", axis=axis, extra=("--tolerances", "0.01,1", "--gin_param", swap))
    for k in (0, 1):
        assert polibench(["calibrate", str(copies / "variants" / str(TICKS) / f"seed{k}"), "--tolerance", "0.01,1",
                          "--batches", "1", "--gin_param", swap]) == 0
    with pytest.raises(RunDirError, match=r"no budget for tolerance 0.5 \(calibrated: 0.01, 1\)"):
        ablate_inference(out, copies, values="", axis=axis, extra=("--tolerances", "0.5", "--gin_param", swap))
    with pytest.raises(RunDirError, match=r"calibrates halting.convergence.max_change with --gin_param \['policy"):
        ablate_inference(out, copies, values="", axis=axis, extra=("--tolerances", "1",
                                                                   "--gin_param", swap, "--gin_param", "x.y = 1"))
    assert not out.exists()

    assert ablate_inference(out, copies, values="1e9", axis=axis,
                            extra=("--tolerances", "0.01,1", "--gin_param", swap)) == 0
    results = json.loads((out / "results.json").read_text())
    assert [v["name"] for v in results["variants"]] == ["1e9", "tolerance_0.01", "tolerance_1"]
    record = json.loads((out / "sweep.json").read_text())
    assert "--values 1e9 --tolerances 0.01,1" in record["command"]
    for tolerance in (0.01, 1.0):
        variant = record["variants"][f"tolerance_{tolerance:g}"]
        assert variant["tolerance"] == tolerance
        for k in (0, 1):
            doc = read_json(copies / "variants" / str(TICKS) / f"seed{k}" / "calibration_convergence.json")
            budget = next(c["max_error"] for c in doc["calibrations"] if c["tolerance"] == tolerance)
            assert variant["gin_params_by_run"][f"seed{k}"] == [f"{axis} = {budget!r}"]
            command = read_json(out / "variants" / f"tolerance_{tolerance:g}" / f"seed{k}" / "eval" /
                                "eval_command.json")
            assert command["gin_params"] == [swap, f"{axis} = {budget!r}"]
    loose = results["variants"][2]["metrics"]["ticks_per_call"]["mean"]
    assert loose <= results["variants"][1]["metrics"]["ticks_per_call"]["mean"]  # a looser tolerance halts no later
    assert ablate_inference(out, copies, values="1e9", axis=axis,
                            extra=("--tolerances", "0.01,1", "--gin_param", swap)) == 0  # resumes: all finished
