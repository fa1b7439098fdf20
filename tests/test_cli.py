"""The command line's own behaviour: help without arguments, flag texts, "did you mean", evaluation settings that
default to the run's saved protocol, and the end-of-run table."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from polibench.cli import EXIT_USER_ERROR, main
from polibench.config import CONFIG_DIR, ConfigError, parse
from tests.conftest import REPO
from tests.tiny_run import TINY, run_cli


def test_no_arguments_prints_the_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: polibench") and all(cmd in out for cmd in ("run", "eval", "ablate", "list"))


def test_help_imports_no_command_module():
    """`polibench --help` imports only the command line itself: each delegated command's module (report, figures,
    statistics, with torch and matplotlib) is imported when that command is parsed."""
    heavy = ("torch", "matplotlib", "numpy", "report_gen", "polibench.sweep", "polibench.evaluation", "polibench.data")
    code = ("import contextlib, io, sys\nfrom polibench.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n    main(['--help'])\n"
            f"print([m for m in sys.modules if m.startswith({heavy})])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("argv, option", [(["viz", "--help"], "--compare RUN_DIR"),
                                          (["verdicts", "--help"], "--against"),
                                          (["data", "export-lerobot", "--help"], "--repo-id REPO_ID")])
def test_delegated_commands_get_their_arguments_when_parsed(capsys, argv, option):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0 and option in capsys.readouterr().out


def test_eval_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as done:
        main(["eval", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for explained in ("--episodes EPISODES episodes to run (default: the run's saved setting)",
                      "--seed0 SEED0 seed of the first episode", "--n-envs N_ENVS environments stepped as one batch",
                      "--max-steps MAX_STEPS step limit of an episode", "--device DEVICE where the policy runs",
                      "--force replace an evaluation already in --out"):
        assert explained in text


def test_eval_without_flags_follows_the_runs_saved_protocol(finished_run):
    assert main(["eval", str(finished_run), "--no-progress"]) == 0
    out = finished_run / "eval_seed100000_n2"  # the default name comes from the saved settings, not from 50/100000
    episodes = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert [e["seed"] for e in episodes] == [100000, 100001] and all(e["n_steps"] <= 20 for e in episodes)
    command = json.loads((out / "eval_command.json").read_text())
    assert command["episodes"] == 2 and command["max_steps"] == 20


def test_eval_flags_override_the_saved_protocol(finished_run, tmp_path):
    out = tmp_path / "ev"
    assert main(["eval", str(finished_run), "--episodes", "1", "--seed0", "7", "--max-steps", "5", "--out", str(out),
                 "--no-progress"]) == 0
    episodes = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert [(e["seed"], e["n_steps"]) for e in episodes] == [(7, 5)]


def test_run_episodes_flag_sets_the_evaluation_episodes(tmp_path):
    out = tmp_path / "run"
    args = ["run", str(CONFIG_DIR / "act.gin"), "--out", str(out), "--no-progress", "--episodes", "1"]
    for binding in TINY:
        args += ["--gin_param", binding]
    assert main(args) == 0
    assert len((out / "eval" / "episodes.jsonl").read_text().splitlines()) == 1
    assert json.loads((out / "run.json").read_text())["eval_seeds"] == [100000]


def test_end_of_run_table_has_no_empty_or_repeated_rows(tmp_path, capsys):
    assert run_cli(tmp_path / "run") == 0
    rows = [line.split("│")[1].strip() for line in capsys.readouterr().out.splitlines() if line.startswith("│")]
    assert "avg_max_coverage" in rows and "latency_step_median_ms" in rows and "latency_step_p95_ms" in rows
    assert "ticks_per_call" not in rows, "ACT has no ticks: no 'nan' row"
    assert "latency_median_ms" not in rows and "latency_p95_ms" not in rows, "the pooled latency rows say it already"


@pytest.mark.parametrize("binding, suggestion", [
    ("policy.actt.dim = 3", "Did you mean 'policy.act'?"),
    ("policy.act.dimm = 3", "Did you mean 'dim'?"),
    ("polibench.TrainConfig.stepz = 3", "Did you mean 'steps'?"),
])
def test_misspelled_names_get_a_suggestion(binding, suggestion):
    with pytest.raises(ConfigError, match=suggestion):
        parse([CONFIG_DIR / "act.gin"], [binding])


def test_misspelled_gin_files_get_a_suggestion(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["run", "gin/act_gin.gin", "--out", str(tmp_path / "run")]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "gin file not found: gin/act_gin.gin" in err and "Did you mean 'act.gin'?" in err
    including = tmp_path / "mine.gin"
    including.write_text("include 'include/evall.gin'\n")
    with pytest.raises(ConfigError, match="Did you mean 'include/eval.gin'?"):
        parse([including])


def test_evaluation_bar_shows_the_remaining_time(finished_run, monkeypatch):
    import re

    import rich
    from rich.console import Console

    import polibench
    from polibench.evaluation.rollout import evaluate

    screen = Console(record=True, force_terminal=True, width=200)
    monkeypatch.setattr(rich, "_console", screen)  # where a Progress without a console of its own draws
    evaluate(polibench.load_policy(finished_run), "keypoints", [100000, 100001], max_steps=5, progress=True)
    last = screen.export_text().split("eval ")[-1]  # the bar's final refresh
    assert len(re.findall(r"\d+:\d\d:\d\d", last)) == 2, f"elapsed and remaining time expected: {last!r}"
