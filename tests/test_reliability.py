"""Reliability: diverging losses, SIGKILL mid-run, mismatched checkpoints, and run-to-run reproducibility."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from components.policy.act import ACTPolicy
from polibench import registry
from polibench.cli import EXIT_USER_ERROR
from polibench.policy import FeatureSpec
from polibench.training.checkpoint import CheckpointError, load_into, load_weights
from tests.conftest import REPO
from tests.tiny_run import TINY, run_cli


def test_nan_loss_stops_with_diagnosis_and_keeps_last_good_checkpoint(tmp_path, zarr_path, monkeypatch, capsys):
    original = ACTPolicy.forward
    calls = {"n": 0}

    def poisoned(self, batch):
        out = original(self, batch)
        if self.training:
            calls["n"] += 1
            if calls["n"] > 5:  # training step 6 diverges
                out["actions"] = out["actions"] * float("nan")
        return out

    monkeypatch.setattr(ACTPolicy, "forward", poisoned)
    out = tmp_path / "nan"
    assert run_cli(out, f"data_source.pusht_zarr.path = '{zarr_path}'") == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "TrainingDiverged" in err and "loss is nan at step 6" in err and "step_00000004" in err
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["step"] == 4
    weights = load_weights(out / "checkpoints" / "step_00000004" / "model.safetensors")
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert not (out / "model.safetensors").exists() and not (out / "eval").exists()


def _cli_args(out, *extra: str) -> list[str]:
    args = [sys.executable, "-m", "polibench.cli", "run", str(REPO / "gin" / "act.gin"), "--out", str(out), "--no-progress"]
    for binding in [*TINY, "polibench.TrainConfig.steps = 60", "polibench.TrainConfig.checkpoint_every = 5",
                    "polibench.TrainConfig.log_every = 5", "polibench.TrainConfig.val_every = 5", *extra]:
        args += ["--gin_param", binding]
    return args


def test_sigkill_mid_run_resumes_to_the_uninterrupted_result(tmp_path, zarr_path):
    env = {**os.environ, "POLIBENCH_PUSHT_ZARR": str(zarr_path)}
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    subprocess.run(_cli_args(reference), env=env, check=True, capture_output=True, timeout=600)

    proc = subprocess.Popen(_cli_args(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pointer = killed / "checkpoints" / "latest.json"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if pointer.exists() and json.loads(pointer.read_text())["step"] >= 15:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed; raise its step count"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(pointer.read_text())["step"]
    assert 15 <= killed_at < 60 and not (killed / "model.safetensors").exists()

    subprocess.run(_cli_args(killed) + ["--resume"], env=env, check=True, capture_output=True, timeout=600)
    a, b = load_file(reference / "model.safetensors"), load_file(killed / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    ma = json.loads((reference / "eval" / "metrics.json").read_text())["summary"]
    mb = json.loads((killed / "eval" / "metrics.json").read_text())["summary"]
    assert ma["avg_max_coverage"] == mb["avg_max_coverage"] and ma["jerk"] == mb["jerk"]
    steps = [json.loads(line)["step"] for line in (killed / "train_log.jsonl").read_text().splitlines()]
    assert steps == list(range(5, 61, 5)), "the resumed log must read as one run"


def test_same_config_and_seed_twice_gives_identical_metrics(tmp_path, zarr_path):
    data = f"data_source.pusht_zarr.path = '{zarr_path}'"
    assert run_cli(tmp_path / "a", data) == 0
    assert run_cli(tmp_path / "b", data) == 0
    ea = (tmp_path / "a" / "eval" / "episodes.jsonl").read_text().splitlines()
    eb = (tmp_path / "b" / "eval" / "episodes.jsonl").read_text().splitlines()
    strip = lambda rows: [{k: v for k, v in json.loads(r).items() if "latency" not in k} for r in rows]  # noqa: E731
    assert strip(ea) == strip(eb)


def test_checkpoint_for_other_dimensions_is_a_clear_error():
    small = dict(horizon=4, dim=16, heads=2, ff_dim=32, encoder_layers=1, vae_layers=1)
    trained = registry.create("policy", "act", spec=FeatureSpec({"agent_pos": (2,), "environment_state": (16,)}, 2),
                              **small)
    other = registry.create("policy", "act", spec=FeatureSpec({"agent_pos": (2,), "environment_state": (10,)}, 2),
                            **small)
    with pytest.raises(CheckpointError, match="environment_state.*shape mismatch|shape mismatch.*environment_state"):
        load_into(other, trained.state_dict(), REPO / "model.safetensors")


@pytest.mark.parametrize("args", [["--episodes", "0"], ["--episodes", "-3"], ["--max-steps", "0"]])
def test_eval_rejects_non_positive_counts(args, tmp_path, capsys):
    from polibench.cli import main

    assert main(["eval", str(tmp_path), *args]) == EXIT_USER_ERROR
    assert "must be > 0" in capsys.readouterr().err  # checked before the run directory is even read


def test_zero_ticks_is_rejected(tmp_path, zarr_path, capsys):
    assert run_cli(tmp_path / "ctm", f"data_source.pusht_zarr.path = '{zarr_path}'",
                   "polibench.Experiment.policy = @policy.ctm_act", "policy.ctm_act.ticks = 0") == EXIT_USER_ERROR
    assert "ticks must be >= 1" in capsys.readouterr().err
