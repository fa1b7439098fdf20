"""Reliability against a hostile or careless user (issue 40): shared run directories that run no code, evaluations
written whole, symlinks that lead out, interrupts inside a training step, signals, special files, silent wrongs."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from polibench.cli import EXIT_USER_ERROR, main
from polibench.config import CONFIG_DIR
from polibench.rundir import RunDir
from polibench.training.checkpoint import load_weights
from tests.tiny_run import copy_run, run_cli


def _files(root, skip=()) -> dict[str, str]:
    """Every file under ``root`` (relative path -> SHA-256), leaving out those under the ``skip`` folders."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(p.relative_to(root).parts[0] == s for s in skip)}


def _polibench_dying_at(file_name: str, argv: list[str]) -> subprocess.CompletedProcess:
    """`polibench ARGV` in a process that dies (os._exit, as SIGKILL: nothing cleans up) just before it writes a
    file called ``file_name`` (or at that absolute path)."""
    script = ("import os, sys, polibench.io as io\n"
              "real = io.atomic_write\n"
              "def dying(path, write):\n"
              f"    if {file_name!r} in (os.path.basename(path), os.path.abspath(path)): os._exit(9)\n"
              "    return real(path, write)\n"
              "io.atomic_write = dying\n"
              "from polibench.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    return subprocess.run([sys.executable, "-c", script, *argv], env=dict(os.environ), capture_output=True, timeout=600)


def _crafted(marker) -> str:
    """gin lines that, parsed with full gin, make building the Experiment call subprocess.run (touching ``marker``)."""
    return ("from __gin__ import dynamic_registration\nimport subprocess\nimport polibench.experiment\n"
            f"subprocess.run.args = ['touch', '{marker}']\n"
            "polibench.experiment.Experiment.data_source = @subprocess.run()\n")


# ----- a run's config is parsed safely whatever else its directory holds -------------------------------------------

@pytest.mark.parametrize("name, beside", [
    ("config.gin", ["train_log.jsonl"]),  # a shared run without run.json
    ("config.gin", []),  # any config.gin: the name says it is a run's
    ("settings.gin", ["checkpoints/"]),
    ("settings.gin", ["eval/", "model.safetensors"]),
])
def test_a_run_config_without_run_json_is_still_checked(tmp_path, capsys, name, beside):
    shared, marker = tmp_path / "shared_run", tmp_path / "pwned"
    shared.mkdir()
    for entry in beside:
        (shared / entry).mkdir() if entry.endswith("/") else (shared / entry).write_text("")
    (shared / name).write_text(_crafted(marker))
    out = tmp_path / "retrained"
    assert main(["run", str(shared / name), "--out", str(out), "--no-progress"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert "may not import modules" in err and "is read as a run's saved config" in err and "another name" in err
    assert not marker.exists() and not out.exists()


@pytest.mark.parametrize("written", ["absolute", "beside"])
def test_a_run_config_reached_by_an_include_line_is_still_checked(tmp_path, capsys, written):
    """A gin file of the user's own that includes a shared run's config (directly or through another file) parses
    that config as safely as naming it would."""
    shared, marker = tmp_path / "shared_run", tmp_path / "pwned"
    shared.mkdir()
    (shared / "config.gin").write_text(_crafted(marker))
    mine = tmp_path / "mine.gin"
    target = str(shared / "config.gin") if written == "absolute" else "shared_run/config.gin"
    (tmp_path / "middle.gin").write_text(f"include '{target}'\n")
    mine.write_text("include 'middle.gin'  # a file beside this one\n")
    out = tmp_path / "retrained"
    assert main(["run", str(mine), "--out", str(out), "--no-progress"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert "may not import modules" in err and "is read as a run's saved config" in err
    assert not marker.exists() and not out.exists()


def test_the_users_own_gin_file_keeps_full_gin(tmp_path):
    import gin

    from polibench.config import parse

    mine = tmp_path / "mine.gin"
    mine.write_text("import polibench.experiment\npolibench.TrainConfig.steps = 7\n")
    parse([mine])
    assert gin.query_parameter("polibench.TrainConfig.steps") == 7


# ----- an evaluation is written whole ------------------------------------------------------------------------------

@pytest.mark.parametrize("dies_before", ["episodes.jsonl", "metrics.json"])
def test_eval_force_killed_midway_leaves_no_evaluation_that_looks_complete(finished_run, tmp_path, capsys,
                                                                           dies_before):
    run = copy_run(finished_run, tmp_path / "run")
    outside = _files(run, skip=("eval",))
    done = _polibench_dying_at(dies_before, ["eval", str(run), "--out", str(run / "eval"), "--episodes", "1",
                                             "--force", "--no-progress"])
    assert done.returncode == 9, done.stderr.decode()
    assert not (run / "eval" / "metrics.json").exists() and not RunDir(run).evaluated()
    assert main(["table", str(run)]) == EXIT_USER_ERROR
    assert "has no evaluation eval/metrics.json" in capsys.readouterr().err.replace("\n", " ")
    assert _files(run, skip=("eval",)) == outside
    assert main(["eval", str(run), "--out", str(run / "eval"), "--episodes", "1", "--no-progress"]) == 0  # no --force
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    episodes = (run / "eval" / "episodes.jsonl").read_text().splitlines()
    command = json.loads((run / "eval" / "eval_command.json").read_text())
    assert len(metrics["config"]["seeds"]) == len(episodes) == command["episodes"] == 1


# ----- symbolic links out of a run or sweep directory are refused --------------------------------------------------

def _elsewhere(tmp_path):
    """A directory outside every run, with a file a write through a link would replace."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "episodes.jsonl").write_text("keep me\n")
    return elsewhere


def test_eval_refuses_an_evaluation_directory_linked_out_of_the_run(finished_run, tmp_path, capsys):
    run, elsewhere = copy_run(finished_run, tmp_path / "run"), _elsewhere(tmp_path)
    (run / "eval_seed5_n1").symlink_to(elsewhere)  # the default --out of `eval RUN --seed0 5 --episodes 1`
    assert main(["eval", str(run), "--seed0", "5", "--episodes", "1", "--no-progress"]) == EXIT_USER_ERROR
    shutil.rmtree(run / "eval")
    (run / "eval").symlink_to(elsewhere)
    assert main(["eval", str(run), "--out", str(run / "eval"), "--force", "--episodes", "1",
                 "--no-progress"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert err.count(f"leads to {elsewhere}, outside the run directory") == 2
    assert _files(elsewhere) == {"episodes.jsonl": hashlib.sha256(b"keep me\n").hexdigest()}


def test_resume_refuses_checkpoints_linked_out_of_the_run(finished_run, tmp_path, capsys):
    run, elsewhere = copy_run(finished_run, tmp_path / "run"), tmp_path / "elsewhere"
    for done in ("model.safetensors", "model.safetensors.sha256", "eval"):
        shutil.rmtree(run / done) if (run / done).is_dir() else (run / done).unlink()
    shutil.move(run / "checkpoints", elsewhere)
    (elsewhere / "step_00000099").mkdir()  # newer than the one resumed from: a resume would prune it
    (run / "checkpoints").symlink_to(elsewhere)
    before = sorted(p.name for p in elsewhere.iterdir()), _files(elsewhere)
    assert run_cli(run, resume=True) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert f"{run / 'checkpoints'} is a symbolic link to {elsewhere}, outside the run directory" in err
    assert (sorted(p.name for p in elsewhere.iterdir()), _files(elsewhere)) == before
    assert not (run / "model.safetensors").exists()


def test_sweep_refuses_a_run_slot_linked_out(tmp_path, capsys):
    from tests.tiny_run import TINY

    sweep, elsewhere = tmp_path / "sweep", _elsewhere(tmp_path)
    (sweep / "variants").mkdir(parents=True)
    (sweep / "variants" / "32").symlink_to(elsewhere)
    argv = ["ablate", "--axis", "policy.act.dim", "--values", "32", "--base", str(CONFIG_DIR / "act.gin"),
            "--out", str(sweep), "--no-progress"]
    for binding in TINY:
        argv += ["--gin_param", binding]
    assert main(argv) == EXIT_USER_ERROR
    assert f"is a symbolic link to {elsewhere}, outside the sweep directory" in capsys.readouterr().err.replace("\n", " ")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["episodes.jsonl"] and not (sweep / "sweep.json").exists()


# ----- Ctrl-C inside a training step resumes exactly ---------------------------------------------------------------

def test_ctrl_c_inside_a_training_steps_forward_resumes_to_the_uninterrupted_weights(finished_run, tmp_path,
                                                                                     monkeypatch, capsys):
    """The interrupt comes after step 7 drew its batch and used dropout's random numbers; the checkpoint holds
    the state from before that step, so the resumed run draws the same batches as the uninterrupted one."""
    from safetensors.torch import load_file

    from polibench.cli import EXIT_INTERRUPTED
    from polibench.components.policy.act import ACTPolicy

    original, calls = ACTPolicy.forward, {"n": 0}

    def interrupted_in_step_7(self, batch):
        out = original(self, batch)
        if self.training:
            calls["n"] += 1
            if calls["n"] == 7:
                raise KeyboardInterrupt
        return out

    monkeypatch.setattr(ACTPolicy, "forward", interrupted_in_step_7)
    out = tmp_path / "run"
    assert run_cli(out) == EXIT_INTERRUPTED
    assert "interrupted at step 6; checkpoint saved" in capsys.readouterr().err
    monkeypatch.setattr(ACTPolicy, "forward", original)
    assert run_cli(out, resume=True) == 0
    assert "(step 6 of 12)" in capsys.readouterr().out
    a, b = load_file(finished_run / "model.safetensors"), load_file(out / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_sigint_during_an_optimiser_update_is_held_until_the_update_is_counted(finished_run, tmp_path, capsys):
    """The signal lands inside step 7's AdamW update: the update finishes and counts, the interrupt follows it
    (checkpoint at step 7), and the resumed run ends with the uninterrupted weights."""
    from safetensors.torch import load_file

    from polibench.cli import EXIT_INTERRUPTED

    original, calls = torch.optim.AdamW.step, {"n": 0}

    def signalled_in_update_7(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch.optim.AdamW, "step", signalled_in_update_7)
        out = tmp_path / "run"
        assert run_cli(out) == EXIT_INTERRUPTED
    assert "interrupted at step 7; checkpoint saved" in capsys.readouterr().err
    assert run_cli(out, resume=True) == 0
    a, b = load_file(finished_run / "model.safetensors"), load_file(out / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def _log_without_timings(run) -> list[dict]:
    lines = [json.loads(ln) for ln in (run / "train_log.jsonl").read_text().splitlines()]
    return [{k: v for k, v in rec.items() if k not in ("steps_per_s", "wall_s")} for rec in lines]


def test_ctrl_c_during_a_log_steps_validation_leaves_no_gap_in_the_log(finished_run, tmp_path, monkeypatch, capsys):
    """Step 8's update is done when its validation loss is interrupted; resume logs step 8 (once) before step 9."""
    from polibench.cli import EXIT_INTERRUPTED
    from polibench.training.trainer import Trainer

    original = Trainer.validation_loss

    def interrupted_at_8(self):
        if self.step == 8:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(Trainer, "validation_loss", interrupted_at_8)
    out = tmp_path / "run"
    assert run_cli(out) == EXIT_INTERRUPTED
    assert "interrupted at step 8; checkpoint saved" in capsys.readouterr().err
    assert [rec["step"] for rec in _log_without_timings(out)] == [4]
    monkeypatch.setattr(Trainer, "validation_loss", original)
    assert run_cli(out, resume=True) == 0
    assert _log_without_timings(out) == _log_without_timings(finished_run)


def test_after_the_first_interrupt_later_signals_are_dropped_until_the_block_ends():
    """The handler that raises the first KeyboardInterrupt also drops the ones after it, so no second Ctrl-C can
    land between the first and the clean-up it starts (the checkpoint written on the way out)."""
    from polibench.interrupts import first_interrupt_only

    before = signal.getsignal(signal.SIGINT)
    with first_interrupt_only():
        with pytest.raises(KeyboardInterrupt, match="stopped by SIGINT"):
            os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGINT) is before


def test_a_second_signal_right_after_the_first_cannot_stop_the_checkpoint(finished_run, tmp_path, monkeypatch,
                                                                         capsys):
    """SIGINT and SIGTERM together inside step 7's forward pass: one interrupt, one checkpoint from before that
    step, and the resumed run ends with the uninterrupted weights."""
    from safetensors.torch import load_file

    from polibench.cli import EXIT_INTERRUPTED
    from polibench.components.policy.act import ACTPolicy

    original, calls = ACTPolicy.forward, {"n": 0}

    def two_signals_in_step_7(self, batch):
        if self.training:
            calls["n"] += 1
            if calls["n"] == 7:
                # both arrive together: Python runs SIGINT's handler, and SIGTERM's at its next check, which
                # falls in the clean-up the first one started. Sent to this (the main) thread, which blocks them
                # until both are pending: sent to the process, another thread (torch's, after earlier tests) could
                # take SIGINT at once, and its KeyboardInterrupt would leave the mask blocked for every later
                # subprocess of the suite.
                both = {signal.SIGINT, signal.SIGTERM}
                signal.pthread_sigmask(signal.SIG_BLOCK, both)
                try:
                    for sig in (signal.SIGINT, signal.SIGTERM):
                        signal.pthread_kill(threading.get_ident(), sig)
                finally:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, both)
        return original(self, batch)

    monkeypatch.setattr(ACTPolicy, "forward", two_signals_in_step_7)
    out = tmp_path / "run"
    assert run_cli(out) == EXIT_INTERRUPTED
    assert "interrupted at step 6; checkpoint saved" in capsys.readouterr().err
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["step"] == 6
    monkeypatch.setattr(ACTPolicy, "forward", original)
    assert run_cli(out, resume=True) == 0
    a, b = load_file(finished_run / "model.safetensors"), load_file(out / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def _run_args(out, *extra: str) -> list[str]:
    """`polibench run` of the tiny config for 240 steps (checkpoints and log every 5), as a subprocess argv: long
    enough (seconds) that a signal sent after step 15 still finds it training on a fast, quiet machine."""
    from tests.tiny_run import TINY

    args = [sys.executable, "-m", "polibench.cli", "run", str(CONFIG_DIR / "act.gin"), "--out", str(out),
            "--no-progress"]
    for binding in [*TINY, "polibench.TrainConfig.steps = 240", "polibench.TrainConfig.checkpoint_every = 5",
                    "polibench.TrainConfig.log_every = 5", "polibench.TrainConfig.val_every = 5", *extra]:
        args += ["--gin_param", binding]
    return args


def _started(proc: subprocess.Popen, ready, what: str) -> None:
    """Wait until ``ready()`` while ``proc`` runs."""
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not ready():
        time.sleep(0.05)
    assert proc.poll() is None and ready(), f"{what} did not start, or ended too soon; raise its step count"


def test_sigint_during_training_resumes_to_the_uninterrupted_weights(tmp_path):
    from safetensors.torch import load_file

    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    subprocess.run(_run_args(reference), env=dict(os.environ), check=True, capture_output=True, timeout=600)
    proc = subprocess.Popen(_run_args(interrupted), env=dict(os.environ), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    pointer = interrupted / "checkpoints" / "latest.json"
    _started(proc, lambda: pointer.exists() and json.loads(pointer.read_text())["step"] >= 15, "training")
    proc.send_signal(signal.SIGINT)
    rc, err = proc.wait(timeout=300), proc.stderr.read().decode()
    assert rc == 130 and "checkpoint saved" in err, err
    assert not (interrupted / "model.safetensors").exists()
    subprocess.run(_run_args(interrupted) + ["--resume"], env=dict(os.environ), check=True, capture_output=True,
                   timeout=600)
    a, b = load_file(reference / "model.safetensors"), load_file(interrupted / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


# ----- a run killed between its final weights and their checksum finishes ------------------------------------------

def test_final_weights_without_their_checksum_are_made_again_from_the_last_checkpoint(finished_run, tmp_path,
                                                                                       capsys):
    from safetensors.torch import load_file

    run = tmp_path / "run"
    done = _polibench_dying_at(str(run / "model.safetensors.sha256"), _tiny_argv("run", run))
    assert done.returncode == 9 and (run / "model.safetensors").exists(), done.stderr.decode()
    assert "train" not in json.loads((run / "run.json").read_text())  # written after the weights: a kill leaves none
    assert run_cli(run, resume=True) == 0
    out = capsys.readouterr().out.replace("\n", " ")
    assert "model.safetensors has no checksum file model.safetensors.sha256; it was not written completely: it is " \
           f"made again from {run / 'checkpoints' / 'step_00000012'}" in out
    a, b = load_file(finished_run / "model.safetensors"), load_file(run / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a) and RunDir(run).evaluated()
    train, uninterrupted = (json.loads((r / "run.json").read_text())["train"] for r in (run, finished_run))
    assert train["final_losses"] == uninterrupted["final_losses"] and train["total_steps"] == 12
    load_weights(run / "model.safetensors")  # its checksum written and matching (the bytes may differ: safetensors
    # writes the metadata's keys in no fixed order)


def test_final_weights_without_checksum_or_checkpoint_are_refused(finished_run, tmp_path, capsys):
    run = copy_run(finished_run, tmp_path / "run")
    (run / "model.safetensors.sha256").unlink()
    shutil.rmtree(run / "checkpoints")
    before = _files(run)
    assert run_cli(run, resume=True) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert "it was not written completely, and" in err and "has no intact checkpoint to resume from" in err
    assert _files(run) == before


# ----- signals reach a sweep's workers; one writer per evaluation directory ----------------------------------------

def _tiny_argv(verb: str, out, *extra: str) -> list[str]:
    """`polibench VERB` arguments of the tiny config (tests/tiny_run.py) with ``extra`` bindings."""
    from tests.tiny_run import TINY

    argv = [verb, *(["--axis", "policy.act.dim", "--values", "32,48", "--base"] if verb == "ablate" else []),
            str(CONFIG_DIR / "act.gin"), "--out", str(out), "--no-progress"]
    for binding in [*TINY, *extra]:
        argv += ["--gin_param", binding]
    return argv


def _gone(pid: int, within_s: float = 30.0) -> bool:
    deadline = time.time() + within_s
    while time.time() < deadline and os.path.exists(f"/proc/{pid}"):
        time.sleep(0.1)
    return not os.path.exists(f"/proc/{pid}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_a_parallel_sweep_stops_its_workers(tmp_path, sig):
    sweep = tmp_path / "sweep"
    argv = _tiny_argv("ablate", sweep, "polibench.TrainConfig.steps = 100000", "polibench.TrainConfig.log_every = 1",
                      "polibench.TrainConfig.val_every = 1000") + ["--workers", "2"]
    proc = subprocess.Popen([sys.executable, "-m", "polibench.cli", *argv], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    slots = [sweep / "variants" / v / "seed0" for v in ("32", "48")]
    _started(proc, lambda: all((s / "train_log.jsonl").exists() for s in slots), "the sweep's two runs")
    workers = [int((s / ".polibench.lock").read_text()) for s in slots]
    assert proc.pid not in workers
    proc.send_signal(sig)  # to the sweep's own process only, as `kill` sends it
    assert proc.wait(timeout=300) == 130
    assert "every running run saved a checkpoint and stopped" in proc.stderr.read().decode().replace("\n", " ")
    assert all(_gone(pid) for pid in workers), "a worker trains on after its sweep ended"
    for slot in slots:
        assert not (slot / ".polibench.lock").exists() and (slot / "checkpoints" / "latest.json").exists()


def test_eval_into_a_runs_eval_is_refused_while_the_run_evaluates(finished_run, tmp_path, capsys):
    """`run --resume` of a finished run evaluates it again into RUN/eval; `eval --out RUN/eval --force`
    meanwhile is a second writer of that directory."""
    run, evaluating, go_on = copy_run(finished_run, tmp_path / "run"), tmp_path / "evaluating", tmp_path / "go_on"
    script = ("import pathlib, sys, time, polibench.experiment as e\n"
              "real = e.evaluate\n"
              "def paused(*args, **kwargs):\n"
              f"    pathlib.Path({str(evaluating)!r}).touch()\n"
              f"    while not pathlib.Path({str(go_on)!r}).exists(): time.sleep(0.05)\n"
              "    return real(*args, **kwargs)\n"
              "e.evaluate = paused\n"
              "from polibench.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    proc = subprocess.Popen([sys.executable, "-c", script, *_tiny_argv("run", run), "--resume"], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _started(proc, evaluating.exists, "the resumed run's evaluation")
        assert main(["eval", str(run), "--out", str(run / "eval"), "--force", "--episodes", "1",
                     "--no-progress"]) == EXIT_USER_ERROR
        err = capsys.readouterr().err.replace("\n", " ")
        assert f"evaluation directory {run / 'eval'} is being written by another polibench process (pid {proc.pid})" in err
        assert not (run / "eval" / "eval_command.json").exists()
    finally:
        go_on.touch()
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    assert len(metrics["config"]["seeds"]) == len((run / "eval" / "episodes.jsonl").read_text().splitlines()) == 2


def test_zero_workers_is_refused(tmp_path, capsys):
    assert main(_tiny_argv("ablate", tmp_path / "sweep") + ["--workers", "0"]) == EXIT_USER_ERROR
    assert "--workers must be at least 1 (runs at a time), got 0" in capsys.readouterr().err
    assert not (tmp_path / "sweep").exists()


# ----- only regular files of plausible size are read ---------------------------------------------------------------

@pytest.fixture
def no_hang():
    """Fail, rather than hang the suite, when the code under test blocks for a minute."""
    def hung(signum, frame):
        raise AssertionError("the command hung")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _fifo_config(run):
    (run / "config.gin").unlink()
    os.mkfifo(run / "config.gin")


def _zero_model(run):
    (run / "model.safetensors").unlink()
    (run / "model.safetensors").symlink_to("/dev/zero")


def _directory_config(run):
    (run / "config.gin").unlink()
    (run / "config.gin").mkdir()


def _huge_config(run):
    with open(run / "config.gin", "a") as fh:
        fh.write("# padding\n" * 500_000)


@pytest.mark.parametrize("damage, message", [
    (_fifo_config, "config.gin is a FIFO (named pipe), not a regular file"),
    (_zero_model, "model.safetensors is a character device, not a regular file"),
    (_directory_config, "config.gin is a directory, not a regular file"),
    (_huge_config, "bytes, more than the 4194304 any such file polibench writes can hold"),
])
def test_eval_refuses_special_or_huge_files_in_a_run(finished_run, tmp_path, capsys, no_hang, damage, message):
    run = copy_run(finished_run, tmp_path / "run")
    damage(run)
    assert main(["eval", str(run), "--out", str(tmp_path / "ev"), "--no-progress"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "ev").exists()


@pytest.mark.parametrize("make, message", [
    (os.mkfifo, "is a FIFO (named pipe), not a regular file"),
    (os.mkdir, "is a directory, not a regular file"),
])
def test_run_refuses_a_gin_file_that_is_not_a_regular_file(tmp_path, capsys, no_hang, make, message):
    make(tmp_path / "mine.gin")
    assert main(["run", str(tmp_path / "mine.gin"), "--out", str(tmp_path / "out"), "--no-progress"]) == EXIT_USER_ERROR
    assert f"{tmp_path / 'mine.gin'} {message}" in capsys.readouterr().err.replace("\n", " ")
    assert not (tmp_path / "out").exists()


# ----- silent wrongs become errors ---------------------------------------------------------------------------------

def test_observations_beyond_float32_or_complex_are_refused(finished_run):
    import numpy as np

    import polibench
    from polibench.evaluation.env import make_env

    policy = polibench.load_policy(finished_run)
    obs, _ = make_env(policy.track).reset(seed=3)
    policy.reset()
    with pytest.raises(ValueError, match=r"observation 'agent_pos' holds values beyond float32's range"):
        policy.select_action({**obs, "agent_pos": np.array([1e39, 1.0])})
    with pytest.raises(TypeError, match=r"observation 'agent_pos' must be real numbers, got an array of complex128"):
        policy.select_action({**obs, "agent_pos": obs["agent_pos"] + 1j})
    assert np.isfinite(policy.select_action(obs)).all()  # nothing of the refused ones was kept


def _bad_data(monkeypatch, value, feature="agent_pos"):
    """Training data of the tiny run with ``value`` in frame 37's ``feature`` (an observation, or the action),
    dimension 1."""
    from polibench.components.data_source.pusht_zarr import PushTZarr

    real = PushTZarr.load

    def load(self):
        data = real(self)
        (data.action if feature == "action" else data.obs[feature])[37, 1] = value
        return data

    monkeypatch.setattr(PushTZarr, "load", load)


@pytest.mark.parametrize("feature, value, message", [
    ("agent_pos", 1e30, "the training data's observation 'agent_pos', dimension 1, spans [59.07, 1e+30] but almost "
                        "all its values lie within"),
    ("agent_pos", float("nan"), "the training data's observation 'agent_pos' holds nan (dimension 1, frame 37 of "
                                "episode 0): the data is damaged"),
    ("action", float("nan"), "the training data's action holds nan (dimension 1, frame 37 of episode 0): the data "
                             "is damaged"),
    ("action", float("-inf"), "the training data's action holds -inf (dimension 1, frame 37 of episode 0): the data "
                              "is damaged"),
])
def test_training_data_far_outside_its_range_or_nan_is_named(tmp_path, capsys, monkeypatch, feature, value,
                                                             message):
    _bad_data(monkeypatch, value, feature)
    assert run_cli(tmp_path / "run") == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert message in err and "lower the learning rate" not in err.lower()
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_an_empty_dataset_is_named(tmp_path, capsys):
    import numpy as np
    import zarr

    empty = tmp_path / "empty.zarr"
    root = zarr.open_group(str(empty), mode="w")
    for name, shape, dtype in (("meta/episode_ends", (0,), np.int64), ("data/state", (0, 5), np.float32),
                               ("data/action", (0, 2), np.float32)):
        root.create_array(name, shape=shape, dtype=dtype)
    assert run_cli(tmp_path / "run", f"data_source.pusht_zarr.path = '{empty}'") == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert f"{empty} holds no episodes (its episode_ends is empty)" in err and "IndexError" not in err


def test_weights_of_another_dtype_are_refused(finished_run, tmp_path, capsys):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from polibench.training.checkpoint import sha256

    run = copy_run(finished_run, tmp_path / "run")
    model = run / "model.safetensors"
    with safe_open(str(model), framework="pt") as fh:
        metadata = fh.metadata()
    tensors = load_file(model)
    name = next(k for k, v in tensors.items() if v.is_floating_point() and v.numel() > 1)
    tensors[name] = tensors[name].round().to(torch.int8)
    save_file(tensors, str(model), metadata=metadata)
    (run / "model.safetensors.sha256").write_text(sha256(model) + "\n")
    assert main(["eval", str(run), "--out", str(tmp_path / "ev"), "--no-progress"]) == EXIT_USER_ERROR
    assert f"dtype mismatch ['{name}: checkpoint torch.int8 vs model torch.float32']" in \
        capsys.readouterr().err.replace("\n", " ")
    assert not (tmp_path / "ev").exists()


def _set(path, change):
    data = json.loads(path.read_text())
    path.write_text(json.dumps(change(data)))


@pytest.mark.parametrize("file, change, message", [
    ("eval/metrics.json", lambda m: {**m, "summary": {**m["summary"], "success_rate": {
        **m["summary"]["success_rate"], "mean": float("inf")}}}, "summary.success_rate.mean is inf, not a finite number"),
    ("eval/metrics.json", lambda m: {**m, "summary": "high"}, "is not an evaluation polibench wrote"),
    ("eval/metrics.json", lambda m: [m], "is not an evaluation polibench wrote"),
    ("eval/metrics.json", lambda m: {**m, "summary": {**m["summary"], "jerk": "low"}}, "summary.jerk is 'low'"),
    ("run.json", lambda info: [info], "holds list, not the JSON object polibench writes"),
    ("run.json", lambda info: {**info, "train": "long"}, "is not the record polibench writes"),
])
def test_table_refuses_records_of_the_wrong_types_or_infinite(finished_run, tmp_path, capsys, file, change, message):
    run = copy_run(finished_run, tmp_path / "run")
    _set(run / file, change)
    assert main(["table", str(run), "--out", str(tmp_path / "table.md")]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "table.md").exists()


def test_out_inside_polibenchs_code_is_refused(finished_run, capsys):
    from tests.conftest import REPO

    inside = REPO / "polibench" / "my_runs"
    assert run_cli(inside) == EXIT_USER_ERROR
    assert main(["eval", str(finished_run), "--out", str(inside), "--no-progress"]) == EXIT_USER_ERROR
    assert capsys.readouterr().err.replace("\n", " ").count("is inside polibench's installed code") == 2
    assert not inside.exists()


# ----- tracebacks and unclear errors become one line naming the value and the fix ----------------------------------

@pytest.mark.parametrize("argv, message", [
    (["eval", "RUN", "--seed0", "-1"], "EvalConfig.seed0 = -1: the seeds seed0 .. seed0 + episodes - 1 must lie in 0 .."),
    (["eval", "RUN", "--seed0", str(2**64)], f"EvalConfig.seed0 = {2**64}: the seeds"),
    (["eval", "RUN", "--episodes", str(10**12)], "EvalConfig.episodes = 1000000000000 is more than the 1000000"),
    (["eval", "RUN", "--device", "mps"], "device = 'mps': polibench runs on 'cpu' or 'cuda'"),
    (["eval", "RUN", "--device", "meta"], "device = 'meta': polibench runs on 'cpu' or 'cuda'"),
    (["verdicts", "SWEEP", "--variant", "a", "--against", "b", "--reps", "0"], "--reps must be at least 1"),
    (["calibrate", "RUN", "--tolerance", "abc"], "--tolerance 'abc' is not a number"),
])
def test_bad_command_line_values_are_one_line_errors(tmp_path, capsys, argv, message):
    argv = [str(tmp_path / a) if a in ("RUN", "SWEEP") else a for a in argv]
    assert main(argv) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bindings, message", [
    (["polibench.TrainConfig.device = 'mps'"], "TrainConfig.device = 'mps': polibench runs on 'cpu' or 'cuda'"),
    (["policy.act.dim = 30", "policy.act.heads = 4"], "dim = 30 with heads = 4: dim must be a multiple of heads"),
    (["polibench.TrainConfig.steps = sixty"], "unquoted string 'sixty': write 'sixty' in quotes"),
    (["polibench.TrainConfig.lr = nan"], "unquoted name 'nan': gin values are Python literals, and NaN or inf is no "
                                         "valid setting"),
])
def test_bad_bindings_are_one_line_errors(tmp_path, capsys, bindings, message):
    assert run_cli(tmp_path / "run", *bindings) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert message in err and "Traceback" not in err and "<ast." not in err
    assert not (tmp_path / "run" / "config.gin").exists()


def test_a_config_nested_too_deeply_is_a_one_line_error(finished_run, tmp_path, capsys):
    import polibench
    from polibench.config import ConfigError

    deep = "polibench.TrainConfig.betas = " + "[" * 20000 + "]" * 20000 + "\n"
    (tmp_path / "mine.gin").write_text(deep)
    assert main(["run", str(tmp_path / "mine.gin"), "--out", str(tmp_path / "out"), "--no-progress"]) == EXIT_USER_ERROR
    assert "nested too deeply to parse" in capsys.readouterr().err.replace("\n", " ")
    run = copy_run(finished_run, tmp_path / "run")
    with open(run / "config.gin", "a") as fh:
        fh.write(deep)
    with pytest.raises(ConfigError, match="config.gin: the gin config is nested too deeply"):
        polibench.load_policy(run)
    assert not (tmp_path / "out").exists()


def test_load_policy_of_something_not_a_path_says_what_it_takes():
    import polibench

    with pytest.raises(TypeError, match=r"load_policy takes a run directory's path \(str or pathlib.Path\), got int 123"):
        polibench.load_policy(123)


def test_calibrate_on_a_run_without_halting_says_what_it_needs(finished_run, capsys):
    before = _files(finished_run)
    assert main(["calibrate", str(finished_run)]) == EXIT_USER_ERROR
    assert "trained ACTPolicy, which has no halting rule: calibrate needs a CTM-ACT run" in \
        capsys.readouterr().err.replace("\n", " ")
    assert _files(finished_run) == before


def _rewrite_model(run, blob: bytes) -> None:
    """Replace the run's model.safetensors by ``blob``, with a matching checksum (as its author would)."""
    from polibench.training.checkpoint import sha256

    (run / "model.safetensors").write_bytes(blob)
    (run / "model.safetensors.sha256").write_text(sha256(run / "model.safetensors") + "\n")


def _with_metadata(run, metadata):
    from safetensors.torch import load_file, save_file

    tensors = load_file(run / "model.safetensors")
    save_file(tensors, str(run / "model.safetensors"), metadata=metadata)
    _rewrite_model(run, (run / "model.safetensors").read_bytes())


@pytest.mark.parametrize("damage, message", [
    (lambda run: _rewrite_model(run, (2**62).to_bytes(8, "little") + b"{}"), "is not a readable safetensors file"),
    (lambda run: _rewrite_model(run, (9).to_bytes(8, "little") + b"not json!"), "is not a readable safetensors file"),
    (lambda run: _with_metadata(run, {"track": "keypoints"}), "metadata has no valid 'spec' (KeyError"),
    (lambda run: _with_metadata(run, {"spec": "{not json"}), "metadata has no valid 'spec' (JSONDecodeError"),
])
def test_corrupt_weights_with_a_matching_checksum_are_one_line_errors(finished_run, tmp_path, capsys, damage, message):
    run = copy_run(finished_run, tmp_path / "run")
    damage(run)
    assert main(["eval", str(run), "--out", str(tmp_path / "ev"), "--no-progress"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "ev").exists()


def _truncate(state):
    state.write_bytes(state.read_bytes()[:100])


def _drop_optimizer(state):
    saved = torch.load(state, weights_only=True)
    del saved["optimizer"]
    torch.save(saved, state)


@pytest.mark.parametrize("damage, message", [
    (_truncate, "trainer_state.pt is not a readable trainer state"),
    (_drop_optimizer, "trainer_state.pt lacks ['optimizer'], which every trainer state holds"),
])
def test_a_damaged_trainer_state_with_a_matching_checksum_is_a_one_line_error(finished_run, tmp_path, capsys,
                                                                               damage, message):
    from polibench.training.checkpoint import sha256

    run = copy_run(finished_run, tmp_path / "run")
    for done in ("model.safetensors", "model.safetensors.sha256", "eval"):
        shutil.rmtree(run / done) if (run / done).is_dir() else (run / done).unlink()
    state = run / "checkpoints" / "step_00000012" / "trainer_state.pt"
    damage(state)
    (state.parent / "trainer_state.pt.sha256").write_text(sha256(state) + "\n")
    assert run_cli(run, resume=True) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert message in err and "to resume from the checkpoint before it" in err and "Traceback" not in err
    assert not (run / "model.safetensors").exists()


def test_a_garbage_line_in_a_sweeps_episodes_is_named(finished_run, tmp_path, capsys):
    sweep = tmp_path / "sweep"
    slot = copy_run(finished_run, sweep / "variants" / "32" / "seed0")
    with open(slot / "eval" / "episodes.jsonl", "a") as fh:
        fh.write("{\"seed\": 3, \"succ\n")
    argv = _tiny_argv("ablate", sweep) + ["--finished-only"]
    argv[argv.index("--values") + 1] = "32"
    assert main(argv) == EXIT_USER_ERROR
    err = capsys.readouterr().err.replace("\n", " ")
    assert f"{slot / 'eval' / 'episodes.jsonl'}, line 3, is not valid JSON" in err and "Traceback" not in err
    assert not (sweep / "results.json").exists()


@pytest.mark.parametrize("limit, message", [
    (1500, "config.gin: File too large. Make room"),  # config.gin is the first file over it
    (100_000, "model.safetensors could not be written"),  # the first checkpoint's weights
    (200_000, "trainer_state.pt could not be written"),  # its optimiser state
])
def test_a_file_size_limit_or_full_disk_is_a_one_line_error(tmp_path, limit, message):
    import resource

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "polibench.cli", *_tiny_argv("run", out)], env=dict(os.environ),
                          capture_output=True, timeout=600, preexec_fn=limited)
    err = done.stderr.decode().replace("\n", " ")
    assert done.returncode == EXIT_USER_ERROR, err
    assert message in err and "Traceback" not in err
    assert "Make room" in err and "--resume" in err
    assert not (out / "model.safetensors").exists() and not list(out.glob("checkpoints/step_*"))
    assert not list(out.glob("checkpoints/.tmp_*")) and not list(out.glob(".*.tmp"))


def test_a_run_stopped_by_a_file_size_limit_at_its_first_checkpoint_resumes_once_there_is_room(finished_run,
                                                                                                tmp_path):
    """The error says 'make room and resume'; with no checkpoint written yet, --resume starts again from step 0
    and ends with the weights of the run that never hit the limit."""
    import resource

    from safetensors.torch import load_file

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "polibench.cli", *_tiny_argv("run", out)], env=dict(os.environ),
                          capture_output=True, timeout=600, preexec_fn=limited)
    assert done.returncode == EXIT_USER_ERROR and "Make room and resume (--resume)" in done.stderr.decode()
    assert run_cli(out, resume=True) == 0
    a, b = load_file(finished_run / "model.safetensors"), load_file(out / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def _unshare_works() -> bool:
    """Whether this machine lets a test mount its own small file system (a user and mount namespace)."""
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


needs_unshare = pytest.mark.skipif(not _unshare_works(), reason="needs `unshare -rm` (user namespaces) to mount a "
                                   "small or read-only tmpfs; enable unprivileged user namespaces to run it")


def _in_own_tmpfs(mount: Path, size: str, read_only: bool, *commands: list[str]) -> subprocess.CompletedProcess:
    """Run ``commands`` one after another (printing each exit status) with a fresh tmpfs of ``size`` mounted at
    ``mount``; between two commands the file system grows to 64 MB (the user making room)."""
    import shlex

    script = [f"mount -t tmpfs -o size={size} tmpfs {shlex.quote(str(mount))}"]
    if read_only:
        script.append(f"mount -o remount,ro {shlex.quote(str(mount))}")
    for i, argv in enumerate(commands):
        if i:
            script.append(f"mount -o remount,size=64m {shlex.quote(str(mount))}")
        script.append(f"{shlex.join(argv)}; echo rc=$?")
    mount.mkdir()
    return subprocess.run(["unshare", "-rm", "sh", "-c", "\n".join(script)], env=dict(os.environ),
                          capture_output=True, text=True, timeout=900)


@needs_unshare
def test_out_on_a_read_only_file_system_is_a_one_line_error(tmp_path):
    mount = tmp_path / "ro"
    done = _in_own_tmpfs(mount, "1m", True, [sys.executable, "-m", "polibench.cli", *_tiny_argv("run", mount / "run")])
    err = done.stderr.replace("\n", " ")
    assert "rc=2" in done.stdout, err
    assert "Read-only file system" in err and str(mount / "run") in err and "Traceback" not in err


@needs_unshare
def test_a_full_disk_at_the_second_checkpoint_is_a_one_line_error_and_resumes_to_the_uninterrupted_weights(
        finished_run, tmp_path):
    """512 KB hold the config, the log and the first checkpoint (step 4), not the second: the run stops with the
    error, keeps the intact checkpoint, and once there is room --resume ends where the uninterrupted run did."""
    mount, kept = tmp_path / "small", tmp_path / "model.safetensors"
    run = [sys.executable, "-m", "polibench.cli", *_tiny_argv("run", mount / "run")]
    done = _in_own_tmpfs(mount, "512k", False, run, ["ls", "-a", str(mount / "run" / "checkpoints")],
                         [*run, "--resume"], ["cp", str(mount / "run" / "model.safetensors"), str(kept)])
    err = done.stderr.replace("\n", " ")
    assert done.stdout.split().count("rc=0") == 3 and "rc=2" in done.stdout, (done.stdout, err)
    assert "No space left on device" in err and "Make room" in err and "Traceback" not in err
    assert "step_00000004" in done.stdout and ".tmp_" not in done.stdout
    from safetensors.torch import load_file

    a, b = load_file(finished_run / "model.safetensors"), load_file(kept)
    assert all(torch.equal(a[k], b[k]) for k in a)


@needs_unshare
def test_a_full_disk_during_eval_is_a_one_line_error_and_writes_no_metrics(finished_run, tmp_path):
    """A 4 KB tmpfs holds the evaluation's first file, not the rest: no metrics.json, the run untouched."""
    run = copy_run(finished_run, tmp_path / "run")
    before = _files(run)
    mount = tmp_path / "tiny"
    done = _in_own_tmpfs(mount, "4k", False, [sys.executable, "-m", "polibench.cli", "eval", str(run), "--out",
                                              str(mount / "ev"), "--episodes", "2", "--no-progress"],
                         ["ls", "-a", str(mount / "ev")])
    err = done.stderr.replace("\n", " ")
    assert "rc=2" in done.stdout, (done.stdout, err)
    assert "No space left on device. Make room" in err and "Traceback" not in err
    assert "metrics.json" not in done.stdout
    assert _files(run) == before


def _replaced(path, good):
    path.write_bytes(b"not an archive")


def _truncated(path, good):
    path.write_bytes(good.read_bytes()[:2000])


def _pickled(path, good):
    import pickle

    path.write_bytes(pickle.dumps({"state": [1, 2, 3]}))


def _missing_array(path, good):
    import numpy as np

    with np.load(good) as npz:
        np.savez(path, **{k: npz[k] for k in npz.files if k != "action"})


def _short_array(path, good):
    import numpy as np

    with np.load(good) as npz:
        np.savez(path, **{k: (npz[k][:100] if k == "state" else npz[k]) for k in npz.files})


@pytest.mark.parametrize("damage, message", [
    (_replaced, "cannot be read"), (_truncated, "cannot be read"), (_pickled, "cannot be read (ValueError"),
    (_missing_array, "cannot be read (KeyError"), (_short_array, "hold fewer frames in ['state']"),
])
def test_a_damaged_embedded_demonstrations_file_is_named(tmp_path, damage, message):
    from polibench.data.embedded import EMBEDDED_PATH, read_embedded
    from polibench.data.zarr_reader import DataFormatError

    bad = tmp_path / "pusht_keypoints.npz"
    damage(bad, EMBEDDED_PATH)
    with pytest.raises(DataFormatError, match=re.escape(message)) as err:
        read_embedded(3, bad)
    assert str(bad) in str(err.value) and "reinstall polibench" in str(err.value)


def test_a_run_on_an_install_with_damaged_embedded_demonstrations_stops_naming_the_file_and_the_fix(tmp_path):
    """`polibench run` from an install (a copy of the package, first on the path) whose embedded demonstrations
    were replaced by a pickle: exit status 2, one line naming the file and both ways out, and no run that looks
    trained."""
    from polibench.data.embedded import EMBEDDED_PATH
    from tests.conftest import REPO

    site = tmp_path / "site"
    shutil.copytree(REPO / "polibench", site / "polibench", ignore=shutil.ignore_patterns("__pycache__"))
    damaged = site / "polibench" / "data" / EMBEDDED_PATH.name
    _pickled(damaged, EMBEDDED_PATH)
    env = {k: v for k, v in os.environ.items() if k != "POLIBENCH_PUSHT_ZARR"}
    env.update(PYTHONPATH=str(site), POLIBENCH_CACHE=str(tmp_path / "cache"))
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "polibench.cli", "run", "act", "include/quick", "--out", str(out),
                           "--no-progress"], cwd=tmp_path, env=env, capture_output=True, timeout=600)
    err = done.stderr.decode().replace("\n", " ")
    assert done.returncode == EXIT_USER_ERROR, err
    assert f"the embedded Push-T demonstrations {damaged} cannot be read" in err and "Traceback" not in err
    assert "reinstall polibench" in err and "POLIBENCH_PUSHT_ZARR" in err
    assert not (out / "model.safetensors").exists() and not list(out.glob("checkpoints/step_*"))


def test_a_file_size_limit_during_eval_is_a_one_line_error_and_writes_no_metrics(finished_run, tmp_path):
    import resource

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))

    out = tmp_path / "ev"
    done = subprocess.run([sys.executable, "-m", "polibench.cli", "eval", str(finished_run), "--out", str(out),
                           "--no-progress"], env=dict(os.environ), capture_output=True, timeout=600,
                          preexec_fn=limited)
    err = done.stderr.decode().replace("\n", " ")
    assert done.returncode == EXIT_USER_ERROR, err
    assert f"cannot write {out / 'episodes.jsonl'}: File too large. Make room" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == []
