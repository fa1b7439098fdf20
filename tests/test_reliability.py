"""Reliability: diverging losses, SIGKILL mid-run, mismatched checkpoints, run-to-run reproducibility, and run
directories from elsewhere (no code runs, one writer, resume that says what it did, one-line errors)."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from polibench import registry
from polibench.cli import EXIT_INTERRUPTED, EXIT_USER_ERROR
from polibench.components.policy.act import ACTPolicy
from polibench.config import CONFIG_DIR
from polibench.policy import FeatureSpec
from polibench.training.checkpoint import CheckpointError, load_into, load_weights
from tests.conftest import REPO
from tests.tiny_run import TINY, copy_run, run_cli


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
    args = [sys.executable, "-m", "polibench.cli", "run", str(CONFIG_DIR / "act.gin"), "--out", str(out), "--no-progress"]
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


# ----- run directories from elsewhere cannot run code -------------------------------------------------------------

def _crafted(marker):
    """A config.gin line set that, under full gin, makes loading the run call subprocess.run (touching ``marker``)."""
    return ("\nfrom __gin__ import dynamic_registration\nimport subprocess\nimport polibench.experiment\n"
            f"subprocess.run.args = ['touch', '{marker}']\n"
            "polibench.experiment.Experiment.data_source = @subprocess.run()\n")


def test_crafted_config_runs_code_under_full_gin(finished_run, tmp_path):
    """The attack the safe loader stops is real: gin itself executes it when the Experiment is built."""
    import gin

    from polibench.settings import Experiment, register_configurables

    marker = tmp_path / "pwned"
    register_configurables()
    gin.parse_config((finished_run / "config.gin").read_text() + _crafted(marker))
    Experiment()
    assert marker.exists()


@pytest.mark.parametrize("command", ["load_policy", "eval", "viz", "ablate-inference"])
def test_crafted_config_gin_is_refused_and_nothing_runs(finished_run, tmp_path, capsys, command):
    import polibench
    from polibench.cli import main
    from polibench.config import ConfigError

    run = copy_run(finished_run, tmp_path / "shared_run")
    marker = tmp_path / "pwned"
    with open(run / "config.gin", "a") as fh:
        fh.write(_crafted(marker))
    line = (run / "config.gin").read_text().splitlines().index("from __gin__ import dynamic_registration") + 1
    expected = f"config.gin, line {line}: `from __gin__ import dynamic_registration`: a run's config.gin may not import"
    if command == "load_policy":
        with pytest.raises(ConfigError) as err:
            polibench.load_policy(run)
        assert expected in str(err.value)
    else:
        argv = {"eval": ["eval", str(run), "--out", str(tmp_path / "ev"), "--no-progress"],
                "viz": ["viz", str(run), "--out", str(tmp_path / "fig"), "--seeds", "1", "--max-steps", "2"],
                "ablate-inference": ["ablate-inference", "--axis", "policy.act.n_action_steps", "--values", "4",
                                     "--runs", str(run), "--out", str(tmp_path / "sweep"), "--no-progress"]}[command]
        assert main(argv) == EXIT_USER_ERROR
        assert expected in capsys.readouterr().err.replace("\n", " ")
    assert not marker.exists()


@pytest.mark.parametrize("line, message", [
    ("include '/tmp/elsewhere.gin'", "may not include other files"),
    ("import os", "may not import modules"),
    ("polibench.Experiment.data_source = @gin.singleton()", "gin.singleton is not a polibench component"),
    ("policy.act.dimm = 3", "policy.act has no parameter 'dimm'. Did you mean 'dim'?"),
    ("policy.actt.dim = 3", "no polibench configurable is called 'policy.actt'. Did you mean 'policy.act'?"),
    ("polibench.TrainConfig.steps = 'sixty'", "TrainConfig.steps = 'sixty': expected int, got str"),
])
def test_safe_loader_refuses_everything_but_polibench_bindings(finished_run, tmp_path, line, message):
    import polibench
    from polibench.config import ConfigError

    run = copy_run(finished_run, tmp_path / "run")
    with open(run / "config.gin", "a") as fh:
        fh.write(line + "\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        polibench.load_policy(run)


@pytest.mark.parametrize("config", sorted((REPO / "studies" / "ctm_act_pusht" / "results").rglob("config.gin")),
                         ids=lambda p: str(p.parent.relative_to(REPO / "studies" / "ctm_act_pusht" / "results")))
def test_every_committed_run_config_loads_with_the_safe_loader(config):
    """What users will load: every config.gin of the study's results (CPU and GPU tracks, LeRobot's policies)."""
    import gin

    from polibench.safe_config import parse_run_config

    assert parse_run_config(config) == config.read_text()
    assert gin.query_parameter("polibench.TrainConfig.steps") > 0


class _Touch:
    """Unpickling this touches a file: what a crafted trainer_state.pt would do with worse code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def test_crafted_trainer_state_with_a_matching_checksum_is_refused(finished_run, tmp_path, capsys):
    from polibench.training.checkpoint import sha256

    run = copy_run(finished_run, tmp_path / "run")
    for done in ("model.safetensors", "model.safetensors.sha256", "eval"):
        shutil.rmtree(run / done) if (run / done).is_dir() else (run / done).unlink()
    state = run / "checkpoints" / "step_00000012" / "trainer_state.pt"
    marker = tmp_path / "pwned"
    torch.save({"step": 12, "payload": _Touch(marker)}, state)
    (state.parent / "trainer_state.pt.sha256").write_text(sha256(state) + "\n")
    torch.load(state, weights_only=False)
    assert marker.exists(), "the crafted file must run code when unpickled unsafely"
    marker.unlink()

    assert run_cli(run, resume=True) == EXIT_USER_ERROR
    assert "trainer_state.pt holds objects a trainer state never does" in capsys.readouterr().err
    assert not marker.exists() and not (run / "model.safetensors").exists()


# ----- concurrent writers and overwrites ----------------------------------------------------------------------------

def test_second_writer_of_a_run_directory_is_refused(tmp_path, capsys):
    from polibench.cli import main

    env = dict(os.environ)  # the default source: $POLIBENCH_PUSHT_ZARR, else the embedded demonstrations
    out = tmp_path / "shared_out"
    first = _cli_args(out, "polibench.TrainConfig.steps = 300")
    proc = subprocess.Popen(first, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (out / "train_log.jsonl").exists():
        time.sleep(0.05)
    assert proc.poll() is None, "the first run ended before the second could start; raise its step count"
    for second in (first[3:], first[3:] + ["--resume"]):
        assert main(second) == EXIT_USER_ERROR
        assert "is being written by another polibench process" in capsys.readouterr().err
    assert proc.poll() is None, "the refusal must come while the first run still writes"
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()
    load_weights(out / "model.safetensors")  # the checksum is the first run's own
    steps = [json.loads(line)["step"] for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert steps == list(range(5, 301, 5)), "one run's log, not two mixed"
    assert not (out / ".polibench.lock").exists()


def test_second_writer_of_a_sweep_directory_is_refused(tmp_path, capsys):
    from polibench.cli import main
    from polibench.locking import exclusive

    sweep = tmp_path / "sweep"
    with exclusive(sweep, "sweep directory"):  # what a running `polibench ablate` holds
        assert main(["ablate", "--axis", "policy.act.dim", "--values", "32", "--base", str(CONFIG_DIR / "act.gin"),
                     "--out", str(sweep), "--no-progress"]) == EXIT_USER_ERROR
    assert f"sweep directory {sweep} is being written by another polibench process" in capsys.readouterr().err
    assert not any(sweep.iterdir()), "the refused sweep wrote nothing"


@pytest.mark.parametrize("verb, what", [
    ("eval", "evaluation directory"), ("ablate-inference", "sweep directory"), ("reevaluate", "sweep directory"),
    ("verdicts", "sweep directory"), ("viz", "figure directory"),
])
def test_every_verb_that_writes_a_directory_is_refused_while_another_process_writes_it(finished_run, tmp_path,
                                                                                        capsys, verb, what):
    from polibench.cli import main
    from polibench.locking import exclusive

    target = tmp_path / "target"
    target.mkdir()
    (target / "kept.txt").write_text("the other writer's\n")
    argv = {
        "eval": ["eval", str(finished_run), "--out", str(target), "--episodes", "1"],
        "ablate-inference": ["ablate-inference", "--axis", "policy.act.temporal_ensemble_coeff", "--values", "None",
                             "--runs", str(finished_run), "--out", str(target), "--episodes", "1"],
        "reevaluate": ["reevaluate", "--variant", "act", "--runs", str(finished_run), "--out", str(target),
                       "--episodes", "1"],
        "verdicts": ["verdicts", str(target), "--variant", "a", "--against", "b"],
        "viz": ["viz", str(finished_run), "--out", str(target), "--seeds", "0", "--max-steps", "5"],
    }[verb]
    with exclusive(target, what):  # what the other process holds
        assert main(argv + ([] if verb in ("verdicts", "viz") else ["--no-progress"])) == EXIT_USER_ERROR
    assert f"{what} {target} is being written by another polibench process" in capsys.readouterr().err
    assert sorted(p.name for p in target.iterdir()) == ["kept.txt"], "the refused command wrote nothing"


def test_eval_into_the_runs_own_eval_needs_force(finished_run, tmp_path, capsys):
    from polibench.cli import main

    run = copy_run(finished_run, tmp_path / "run")
    before = (run / "eval" / "metrics.json").read_bytes()
    assert main(["eval", str(run), "--out", str(run / "eval"), "--episodes", "1", "--no-progress"]) == EXIT_USER_ERROR
    assert "already holds the run's own protocol evaluation (metrics.json). Pass --force" in capsys.readouterr().err
    assert (run / "eval" / "metrics.json").read_bytes() == before
    assert main(["eval", str(run), "--out", str(run / "eval"), "--episodes", "1", "--no-progress", "--force"]) == 0
    assert len((run / "eval" / "episodes.jsonl").read_text().splitlines()) == 1


# ----- resume says what it did, falls back, or refuses --------------------------------------------------------------

@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
    """The tiny run stopped by Ctrl-C at step 10: checkpoints step_00000008 and step_00000010 remain."""
    from polibench.training.trainer import Trainer

    original = Trainer._train_step

    def interrupt_at_10(self):
        if self.step == 10:
            raise KeyboardInterrupt
        return original(self)

    out = tmp_path_factory.mktemp("interrupted") / "act"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Trainer, "_train_step", interrupt_at_10)
        assert run_cli(out) == EXIT_INTERRUPTED
    assert sorted(p.name for p in (out / "checkpoints").glob("step_*")) == ["step_00000008", "step_00000010"]
    return out


def _delete_newest(ckpt):
    shutil.rmtree(ckpt / "step_00000010")


def _corrupt_newest(ckpt):
    blob = bytearray((ckpt / "step_00000010" / "model.safetensors").read_bytes())
    blob[-10] ^= 0xFF
    (ckpt / "step_00000010" / "model.safetensors").write_bytes(bytes(blob))


def _drop_newest_state_checksum(ckpt):
    (ckpt / "step_00000010" / "trainer_state.pt.sha256").unlink()


def _break_latest_json(ckpt):
    (ckpt / "latest.json").write_text('{"step": 10, "dir": ')


@pytest.mark.parametrize("damage, said, resumed_at", [
    (_delete_newest, "latest.json points at step_00000010, which does not exist", 8),
    (_corrupt_newest, "skipped step_00000010: model.safetensors is corrupt", 8),
    (_drop_newest_state_checksum, "skipped step_00000010: trainer_state.pt.sha256 is missing", 8),
    (_break_latest_json, "latest.json is not valid (ignored)", 10),
])
def test_resume_falls_back_to_the_newest_intact_checkpoint(interrupted_run, finished_run, tmp_path,
                                                           capsys, damage, said, resumed_at):
    run = copy_run(interrupted_run, tmp_path / "run")
    damage(run / "checkpoints")
    assert run_cli(run, resume=True) == 0
    out = capsys.readouterr().out.replace("\n", " ")
    assert said in out and f"step_{resumed_at:08d} (step {resumed_at} of 12)" in out
    a, b = load_file(finished_run / "model.safetensors"), load_file(run / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed from an intact checkpoint, the run ends as uninterrupted"
    steps = [json.loads(line)["step"] for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert steps == [4, 8, 12]


def test_resume_with_no_intact_checkpoint_is_refused(interrupted_run, tmp_path, capsys):
    run = copy_run(interrupted_run, tmp_path / "run")
    _corrupt_newest(run / "checkpoints")
    (run / "checkpoints" / "step_00000008" / "trainer_state.pt.sha256").unlink()
    log = (run / "train_log.jsonl").read_text()
    assert run_cli(run, resume=True) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert "has no intact checkpoint to resume from" in err and "step_00000008: trainer_state.pt.sha256 is missing" in err
    assert (run / "train_log.jsonl").read_text() == log and not (run / "model.safetensors").exists()


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "does not exist, so there is nothing to resume"),
    (lambda d: (d.mkdir(), (d / "notes.txt").write_text("mine")), "holds no polibench run (no config.gin)"),
    (lambda d: d.mkdir(), "is empty, so there is nothing to resume"),
])
def test_resume_of_a_missing_or_foreign_directory_is_refused(tmp_path, capsys, setup, message):
    target = tmp_path / "target"
    setup(target)
    before = sorted(p.name for p in target.iterdir()) if target.exists() else None
    assert run_cli(target, resume=True) == EXIT_USER_ERROR
    assert message in capsys.readouterr().err
    assert (sorted(p.name for p in target.iterdir()) if target.exists() else None) == before


def test_resume_of_a_run_without_checkpoints_is_refused_and_keeps_its_log(finished_run, tmp_path, capsys):
    run = copy_run(finished_run, tmp_path / "run")
    for done in ("checkpoints", "model.safetensors", "model.safetensors.sha256", "eval"):
        shutil.rmtree(run / done) if (run / done).is_dir() else (run / done).unlink()
    log = (run / "train_log.jsonl").read_text()
    assert run_cli(run, resume=True) == EXIT_USER_ERROR
    assert "has no intact checkpoint to resume from" in capsys.readouterr().err
    assert (run / "train_log.jsonl").read_text() == log


# ----- silently wrong inputs become clear errors --------------------------------------------------------------------

def test_bad_observations_are_refused_and_leave_the_episode_intact(finished_run):
    import numpy as np

    import polibench
    from polibench.evaluation.env import make_env

    policy, fresh = polibench.load_policy(finished_run), polibench.load_policy(finished_run)
    obs, info = make_env(policy.track).reset(seed=3)
    policy.reset()
    fresh.reset()
    for key, bad in (("agent_pos", [np.nan, 1.0]), ("environment_state", np.full(16, np.inf))):
        with pytest.raises(ValueError, match=f"observation '{key}' holds NaN or inf"):
            policy.select_action({**obs, key: np.asarray(bad)})
    np.testing.assert_array_equal(policy.select_action(obs), fresh.select_action(obs))  # nothing queued from NaN
    batch = {k: np.stack([v] * 3) for k, v in obs.items()}
    with pytest.raises(ValueError, match=r"holds 3 environment\(s\), the episode so far 1: call reset\(\)"):
        policy.select_action(batch)
    policy.reset()
    assert policy.select_action(batch).shape == (3, 2)
    with pytest.raises(TypeError, match="got tuple \\(a pair: pass the observation"):
        policy.select_action((obs, info))
    for other in ([obs["agent_pos"]], None):
        with pytest.raises(TypeError, match="select_action takes gym-pusht's observation, a dict"):
            policy.select_action(other)
    with pytest.raises(KeyError, match=r"observation lacks \['agent_pos'\]"):
        policy.select_action({"environment_state": obs["environment_state"]})


@pytest.mark.parametrize("bindings, message", [
    (["polibench.TrainConfig.grad_clip = -1.0"], "TrainConfig.grad_clip must be > 0"),
    (["polibench.Experiment.policy = @policy.ctm_act", "policy.ctm_act.memory = 0"], "policy.ctm_act.memory must be >= 1"),
    (["polibench.TrainConfig.steps = 'sixty'"], "polibench.TrainConfig.steps = 'sixty': expected int, got str"),
    (["polibench.TrainConfig.device = 'gpu'"], "TrainConfig.device = 'gpu' is not a device: use 'auto', 'cpu'"),
])
def test_invalid_settings_are_one_line_errors(tmp_path, capsys, bindings, message):
    assert run_cli(tmp_path / "run", *bindings) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run" / "config.gin").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_cuda_without_a_gpu_is_a_one_line_error(finished_run, tmp_path, capsys):
    from polibench.cli import main

    assert run_cli(tmp_path / "run",
                   "polibench.TrainConfig.device = 'cuda'") == EXIT_USER_ERROR
    assert main(["eval", str(finished_run), "--device", "cuda:1", "--out", str(tmp_path / "ev")]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "TrainConfig.device = 'cuda', but torch sees no CUDA GPU" in err and "device = 'cuda:1', but" in err


def test_edited_config_is_warned_about_on_load(finished_run, tmp_path, caplog):
    import hashlib

    import polibench

    run = copy_run(finished_run, tmp_path / "run")
    text = (run / "config.gin").read_text()
    assert json.loads((run / "run.json").read_text())["config_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    with caplog.at_level("WARNING", logger="polibench"):
        polibench.load_policy(run)
    assert not any("edited" in r.getMessage() for r in caplog.records)
    (run / "config.gin").write_text(text.replace("act.n_action_steps = 8", "act.n_action_steps = 4"))
    with caplog.at_level("WARNING", logger="polibench"):
        policy = polibench.load_policy(run)
    assert policy.n_action_steps == 4
    assert any("was edited after training" in r.getMessage() for r in caplog.records)


# ----- tracebacks that are now one line naming the file or value ----------------------------------------------------

def test_out_pointing_at_a_file_is_refused(finished_run, tmp_path, capsys):
    from polibench.cli import main

    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    assert run_cli(target) == EXIT_USER_ERROR
    assert main(["eval", str(finished_run), "--out", str(target), "--no-progress"]) == EXIT_USER_ERROR
    assert capsys.readouterr().err.count(f"{target} is a file, not a directory") == 2
    assert target.read_text() == "keep me"


def test_invalid_json_files_are_named(finished_run, tmp_path, capsys):
    from polibench.cli import main

    run = copy_run(finished_run, tmp_path / "run")
    (run / "eval" / "metrics.json").write_text('{"summary": ')
    assert main(["table", str(run)]) == EXIT_USER_ERROR
    assert f"{run / 'eval' / 'metrics.json'} is not valid JSON" in capsys.readouterr().err.replace("\n", "")
    (run / "run.json").write_text("{,}")
    assert main(["eval", str(run), "--out", str(tmp_path / "ev"), "--no-progress"]) == EXIT_USER_ERROR
    assert f"{run / 'run.json'} is not valid JSON" in capsys.readouterr().err.replace("\n", "")


def test_ctrl_c_during_evaluation_says_what_happened(finished_run, tmp_path, monkeypatch, capsys):
    from polibench.cli import EXIT_INTERRUPTED as interrupted
    from polibench.cli import main
    from polibench.evaluation import rollout

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(rollout, "_run_round", ctrl_c)
    out = tmp_path / "ev"
    assert main(["eval", str(finished_run), "--out", str(out), "--no-progress"]) == interrupted
    assert f"evaluation interrupted: no metrics were written to {out}; run the command again" in \
        capsys.readouterr().err.replace("\n", " ")
    assert not (out / "metrics.json").exists()


def test_genuine_bugs_keep_their_traceback(finished_run, monkeypatch):
    """A ValueError from inside numpy is a bug, not bad input: the CLI must not shrink it to one line."""
    import numpy as np

    from polibench import summary
    from polibench.cli import main

    monkeypatch.setattr(summary, "markdown_table", lambda rows: np.reshape(np.zeros(3), (2, 2)))
    with pytest.raises(ValueError, match="cannot reshape"):
        main(["table", str(finished_run)])


def test_sweep_restarts_its_own_slot_that_has_no_checkpoint_without_old_log_lines(tmp_path, capsys):
    from polibench.cli import main

    sweep = tmp_path / "sweep"
    argv = ["ablate", "--axis", "policy.act.dim", "--values", "32", "--base", str(CONFIG_DIR / "act.gin"),
            "--out", str(sweep), "--no-progress"]
    for binding in TINY:
        argv += ["--gin_param", binding]
    assert main(argv) == 0
    slot = sweep / "variants" / "32" / "seed0"
    for done in ("checkpoints", "model.safetensors", "model.safetensors.sha256", "eval"):
        shutil.rmtree(slot / done) if (slot / done).is_dir() else (slot / done).unlink()
    with open(slot / "train_log.jsonl", "a") as fh:  # what an attempt killed before its first checkpoint leaves
        fh.write('{"step": 2, "loss": 9.9}\n{"step": 3, "lo')
    assert main(argv) == 0
    assert f"{slot} has no checkpoint yet: training starts again from step 0" in capsys.readouterr().out
    steps = [json.loads(line)["step"] for line in (slot / "train_log.jsonl").read_text().splitlines()]
    assert steps == [4, 8, 12]


def test_retraining_a_shared_runs_config_checks_it_first(finished_run, tmp_path, capsys):
    """`polibench run RUN/config.gin` (what load_policy suggests for a run without weights) reads a file from
    elsewhere: it is checked like a loaded run's, not parsed with full gin."""
    from polibench.cli import main

    run = copy_run(finished_run, tmp_path / "shared_run")
    marker = tmp_path / "pwned"
    with open(run / "config.gin", "a") as fh:
        fh.write(_crafted(marker))
    assert main(["run", str(run / "config.gin"), "--out", str(tmp_path / "retrained"), "--no-progress"]) == EXIT_USER_ERROR
    assert "may not import modules" in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "retrained").exists()


def test_written_files_get_the_mode_a_plain_open_gives_not_the_temporary_files(tmp_path, monkeypatch):
    from polibench import io
    from polibench.training.checkpoint import save_weights

    monkeypatch.setattr(io, "UMASK", 0o022)  # the usual one; the temporary file's own mode would be 0o600
    expected = 0o644
    io.write_json(tmp_path / "metrics.json", {"success_rate": 1.0})
    save_weights(tmp_path / "model.safetensors", {"w": torch.zeros(2)}, {"spec": "{}"})
    for name in ("metrics.json", "model.safetensors"):
        assert (tmp_path / name).stat().st_mode & 0o777 == expected, name


def test_an_evaluation_replaced_with_force_keeps_no_older_videos(finished_run, tmp_path):
    from polibench.cli import main

    run = copy_run(finished_run, tmp_path / "run")
    out = run / "eval_videos"
    common = ["eval", str(run), "--out", str(out), "--max-steps", "5"]
    assert main([*common, "--episodes", "2", "--video"]) == 0
    assert len(list((out / "videos").iterdir())) == 2
    assert main([*common, "--episodes", "1", "--video", "--force"]) == 0
    assert [p.name.split(".")[0] for p in (out / "videos").iterdir()] == ["episode_0000_seed100000"]
    assert main([*common, "--episodes", "1", "--force"]) == 0
    assert not (out / "videos").exists() and not list(out.glob(".videos*"))
