"""End to end through the CLI: `polibench run` fills a run directory, `polibench eval` and `load_policy` reuse it,
and an interrupted run resumes to exactly the weights of an uninterrupted one."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

import polibench
from polibench.cli import EXIT_INTERRUPTED, EXIT_USER_ERROR, main
from polibench.training.trainer import Trainer
from tests.tiny_run import assert_acts_in_gym_pusht, run_cli


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, zarr_path):
    out = tmp_path_factory.mktemp("runs") / "act"
    assert run_cli(out, f"data_source.pusht_zarr.path = '{zarr_path}'") == 0
    return out


def test_run_directory_holds_everything(finished_run):
    names = {p.name for p in finished_run.iterdir()}
    assert {"config.gin", "run.json", "train_log.jsonl", "model.safetensors", "model.safetensors.sha256",
            "checkpoints", "eval"} <= names
    config = (finished_run / "config.gin").read_text()
    assert "act.dim = 32" in config and "TrainConfig.steps = 12" in config
    info = json.loads((finished_run / "run.json").read_text())
    assert info["seed"] == 0 and info["eval_seeds"] == [100000, 100001]
    assert info["versions"]["torch"] and "commit" in info["git"]
    assert info["train"]["total_steps"] == 12 and info["train"]["s_per_step"] > 0
    assert set(info["train_episodes"]).isdisjoint(info["val_episodes"]) and len(info["val_episodes"]) == 2
    log = [json.loads(line) for line in (finished_run / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [4, 8, 12] and all("val_loss" in r for r in log)
    metrics = json.loads((finished_run / "eval" / "metrics.json").read_text())
    for key in ("success_rate", "avg_max_coverage", "avg_max_reward", "jerk", "action_change"):
        stat = metrics["summary"][key]
        assert stat["ci_low"] <= stat["mean"] <= stat["ci_high"]
    episodes = (finished_run / "eval" / "episodes.jsonl").read_text().splitlines()
    assert [json.loads(e)["seed"] for e in episodes] == [100000, 100001]


def test_run_json_records_the_facts_tables_print(finished_run, tmp_path):
    """Policy, T, budget and precision are recorded when a run is made; `polibench table` prefers the recorded
    policy and reads config.gin only for runs made before it was recorded (as every committed run was)."""
    import shutil

    info = json.loads((finished_run / "run.json").read_text())
    assert {k: info[k] for k in ("policy", "ticks", "steps", "batch_size", "lr", "precision")} == {
        "policy": "act", "ticks": None, "steps": 12, "batch_size": 8, "lr": 3e-4, "precision": "fp32"}
    run = tmp_path / "act"
    shutil.copytree(finished_run, run, ignore=shutil.ignore_patterns("checkpoints", "model.safetensors*"))
    (run / "run.json").write_text(json.dumps({**info, "policy": "act_renamed"}))
    assert main(["table", str(run), "--out", str(tmp_path / "table.md")]) == 0
    assert "| act | act_renamed |" in (tmp_path / "table.md").read_text()
    older = {k: v for k, v in info.items() if k not in ("policy", "ticks", "steps", "batch_size", "lr", "precision")}
    (run / "run.json").write_text(json.dumps(older))
    assert main(["table", str(run), "--out", str(tmp_path / "older.md")]) == 0
    assert "| act | act |" in (tmp_path / "older.md").read_text()


def test_eval_command_reproduces_the_recorded_evaluation(finished_run):
    assert main(["eval", str(finished_run), "--episodes", "2", "--seed0", "100000", "--max-steps", "20",
                 "--no-progress", "--out", str(finished_run / "re_eval")]) == 0
    first = [json.loads(x) for x in (finished_run / "eval" / "episodes.jsonl").read_text().splitlines()]
    again = [json.loads(x) for x in (finished_run / "re_eval" / "episodes.jsonl").read_text().splitlines()]
    assert [e["max_coverage"] for e in first] == [e["max_coverage"] for e in again]


def test_eval_gin_param_changes_inference_settings(finished_run):
    out = finished_run / "chunked_eval"
    assert main(["eval", str(finished_run), "--episodes", "1", "--max-steps", "20", "--no-progress", "--out", str(out),
                 "--gin_param", "policy.act.temporal_ensemble_coeff = None",
                 "--gin_param", "policy.act.n_action_steps = 4"]) == 0
    episode = json.loads((out / "episodes.jsonl").read_text().splitlines()[0])
    assert episode["model_calls"] == 5 and episode["n_steps"] == 20
    assert json.loads((out / "eval_command.json").read_text())["gin_params"][1] == "policy.act.n_action_steps = 4"


def test_load_policy_acts_in_gym_pusht(finished_run):
    assert_acts_in_gym_pusht(finished_run, steps=5, seed=3)


def test_rerun_without_resume_refuses(finished_run, capsys):
    assert run_cli(finished_run) == EXIT_USER_ERROR
    assert "already holds a finished run" in capsys.readouterr().err


def test_eval_without_model_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "config.gin").write_text("")
    assert main(["eval", str(tmp_path), "--episodes", "1"]) == EXIT_USER_ERROR
    assert "no trained model" in capsys.readouterr().err


def test_corrupt_model_is_detected_by_checksum(finished_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(finished_run, copy)
    blob = bytearray((copy / "model.safetensors").read_bytes())
    blob[-10] ^= 0xFF
    (copy / "model.safetensors").write_bytes(bytes(blob))
    with pytest.raises(Exception, match="corrupt"):
        polibench.load_policy(copy)


def test_interrupted_run_resumes_to_identical_weights(finished_run, tmp_path, zarr_path, monkeypatch):
    """Ctrl-C at step 6 saves a checkpoint; --resume finishes with the uninterrupted run's exact weights."""
    data = f"data_source.pusht_zarr.path = '{zarr_path}'"
    original = Trainer._train_step

    def interrupt_at_6(self):
        if self.step == 6:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(Trainer, "_train_step", interrupt_at_6)
    out = tmp_path / "interrupted"
    assert run_cli(out, data) == EXIT_INTERRUPTED
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["step"] == 6
    assert not (out / "model.safetensors").exists()
    monkeypatch.setattr(Trainer, "_train_step", original)
    assert run_cli(out, data, resume=True) == 0
    a, b = load_file(finished_run / "model.safetensors"), load_file(out / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    m1 = json.loads((finished_run / "eval" / "metrics.json").read_text())["summary"]["avg_max_coverage"]
    m2 = json.loads((out / "eval" / "metrics.json").read_text())["summary"]["avg_max_coverage"]
    assert m1 == m2


def test_table_command_reads_the_run(finished_run, tmp_path):
    out = tmp_path / "table.md"
    assert main(["table", str(finished_run), "--out", str(out)]) == 0
    text = out.read_text()
    summary = json.loads((finished_run / "eval" / "metrics.json").read_text())["summary"]
    assert "| act | act |" in text and "12 x 8" in text
    assert f"{summary['avg_max_coverage']['mean']:.3f}" in text
    extra = finished_run / "eval_for_table"
    assert main(["eval", str(finished_run), "--episodes", "1", "--max-steps", "5", "--no-progress",
                 "--out", str(extra)]) == 0
    assert main(["table", str(extra), "--out", str(out)]) == 0  # an evaluation directory inside a run
    assert "| act/eval_for_table | act |" in out.read_text()


def test_table_expands_a_sweep_directory_and_rejects_other_paths(finished_run, tmp_path, capsys):
    import shutil

    sweep = tmp_path / "sweep"
    shutil.copytree(finished_run, sweep / "variants" / "act" / "seed0", ignore=shutil.ignore_patterns("checkpoints"))
    (sweep / "variants" / "act" / "seed1").mkdir(parents=True)  # started, not evaluated: left out
    (sweep / "sweep.json").write_text("{}")
    out = tmp_path / "table.md"
    assert main(["table", str(sweep), "--out", str(out)]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| act/")]
    assert [row.split(" | ")[0] for row in rows] == ["| act/seed0"]
    assert main(["table", str(tmp_path / "table.md")]) == EXIT_USER_ERROR
    assert "not a run directory" in capsys.readouterr().err
    unfinished = sweep / "variants" / "act" / "seed1"
    shutil.copy(finished_run / "run.json", unfinished / "run.json")  # a run still training: named, not a traceback
    assert main(["table", str(unfinished)]) == EXIT_USER_ERROR
    assert f"{unfinished} has no evaluation eval/metrics.json" in capsys.readouterr().err.replace("\n", "")


@pytest.mark.parametrize("n_envs", [1, 2])
def test_periodic_quick_eval_is_logged_during_training(tmp_path, zarr_path, n_envs):
    out = tmp_path / "with_eval"
    assert run_cli(out, f"data_source.pusht_zarr.path = '{zarr_path}'", "polibench.TrainConfig.eval_every = 6",
                   "polibench.TrainConfig.eval_episodes = 3", f"polibench.TrainConfig.eval_n_envs = {n_envs}",
                   "polibench.EvalConfig.max_steps = 10") == 0
    evals = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines() if '"eval"' in x]
    assert [e["step"] for e in evals] == [6, 12]
    assert all(0.0 <= e["eval"]["avg_max_coverage"] <= e["eval"]["avg_max_reward"] <= 1.0 for e in evals)


def test_a_run_started_before_a_parameter_existed_resumes_at_its_default(finished_run, tmp_path, zarr_path, capsys):
    """Code that gained a parameter writes it (at its default) into the operative config; a run whose saved config
    predates it still resumes, and the saved config gains the line. Any other difference is still refused."""
    data = f"data_source.pusht_zarr.path = '{zarr_path}'"
    old = tmp_path / "old"
    shutil.copytree(finished_run, old)
    config = (old / "config.gin").read_text()
    assert "act.n_obs_steps = 1\n" in config
    (old / "config.gin").write_text(config.replace("act.n_obs_steps = 1\n", ""))  # as if written before it existed
    assert run_cli(old, data, resume=True) == 0
    assert (old / "config.gin").read_text() == config
    changed = tmp_path / "changed"
    shutil.copytree(finished_run, changed)
    (changed / "config.gin").write_text(config.replace("act.n_obs_steps = 1\n", "act.n_obs_steps = 2\n"))
    assert run_cli(changed, data, resume=True) == EXIT_USER_ERROR
    assert "the config differs" in capsys.readouterr().err


def test_init_from_with_a_seed_placeholder_starts_each_seed_from_the_same_seed_of_another_run(finished_run, tmp_path):
    """``init_from = '.../seed{seed}'``: training seed 1 loads seed1's weights, and run.json records that path."""
    source = tmp_path / "source"
    shutil.copytree(finished_run, source / "seed1")
    out = tmp_path / "warm"
    assert run_cli(out, "polibench.Experiment.seed = 1", f"polibench.Experiment.init_from = '{source}/seed{{seed}}'",
                   "polibench.TrainConfig.steps = 1", "polibench.TrainConfig.warmup_steps = 0") == 0
    info = json.loads((out / "run.json").read_text())
    assert info["init_from"] == f"{source}/seed1"
    assert info["init_loaded_tensors"] == sorted(load_file(source / "seed1" / "model.safetensors"))
