"""`polibench reevaluate`: a tiny real CTM-ACT sweep (2 training seeds) evaluated again under another protocol,
one variant per call, into one results table; resume, and the clear errors (other protocol, no weights, seeds)."""

from __future__ import annotations

import json
import shutil

import pytest

from polibench.cli import EXIT_USER_ERROR
from polibench.cli import main as polibench
from tests import test_ablate_inference

TICKS = test_ablate_inference.TICKS
trained = test_ablate_inference.trained  # the module-scoped tiny CTM-ACT sweep, trained once for this module
PROTOCOL = ("--episodes", "3", "--seed0", "777", "--n-envs", "3")
OFF = "halting.variance.enabled = False"

pytestmark = pytest.mark.usefixtures("data_env")


def reevaluate(out, variant: str, *runs, extra: tuple[str, ...] = PROTOCOL) -> int:
    argv = ["reevaluate", "--variant", variant, "--out", str(out), "--no-progress", *extra]
    for run in runs:
        argv += ["--runs", str(run)]
    return polibench(argv)


@pytest.fixture(scope="module")
def table(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("reevaluated") / "protocol"
    seeds = trained / "variants" / str(TICKS)
    assert reevaluate(out, "halting_on", seeds) == 0
    assert reevaluate(out, "halting_off", seeds / "seed0", extra=(*PROTOCOL, "--gin_param", OFF)) == 0
    return out


def test_variants_gather_in_one_table_under_the_new_protocol(trained, table):
    results = json.loads((table / "results.json").read_text())
    assert [v["name"] for v in results["variants"]] == ["halting_on", "halting_off"]
    on, off = results["variants"]
    assert (on["n_seeds"], on["n_episodes"], off["n_seeds"], off["n_episodes"]) == (2, 6, 1, 3)
    assert off["metrics"]["ticks_per_call"]["mean"] == TICKS  # the binding reached the policy
    assert results["protocol"] == {"episodes": 3, "seed0": 777, "n_envs": 3} and results["seeds"] == [0, 1]
    for k in (0, 1):
        run, source = table / "variants" / "halting_on" / f"seed{k}", trained / "variants" / str(TICKS) / f"seed{k}"
        assert (run / "config.gin").read_text() == (source / "config.gin").read_text()
        assert json.loads((run / "source_run.json").read_text())["run_dir"] == str(source)
        metrics = json.loads((run / "eval" / "metrics.json").read_text())
        assert metrics["config"]["seeds"] == [777, 778, 779]
        command = json.loads((run / "eval" / "eval_command.json").read_text())
        assert (command["episodes"], command["seed0"], command["n_envs"]) == (3, 777, 3)
    record = json.loads((table / "sweep.json").read_text())
    assert record["variants"]["halting_off"]["gin_params"] == [OFF]
    assert record["variants"]["halting_off"]["command"].startswith("polibench reevaluate --variant halting_off --runs")
    assert not list(table.rglob("*.safetensors")) and not list(table.rglob("checkpoints"))


def test_rerun_skips_finished_evaluations(trained, table):
    metrics = {p: p.stat().st_mtime_ns for p in table.glob("variants/*/seed*/eval/metrics.json")}
    assert reevaluate(table, "halting_on", trained / "variants" / str(TICKS)) == 0
    assert {p: p.stat().st_mtime_ns for p in table.glob("variants/*/seed*/eval/metrics.json")} == metrics


def test_bad_calls_are_refused_before_any_evaluation(trained, table, tmp_path, capsys):
    seeds = trained / "variants" / str(TICKS)
    cases = [
        (lambda: reevaluate(table, "more", seeds, extra=("--episodes", "5")), "was evaluated with protocol"),
        (lambda: reevaluate(table, "halting_on", seeds / "seed1"), "holds variant 'halting_on' from other runs"),
        (lambda: reevaluate(tmp_path / "x", "twice", seeds / "seed0", seeds / "seed0"), "distinct training seeds"),
        (lambda: reevaluate(tmp_path / "x", "bad name", seeds), "not a directory-safe name"),
        (lambda: reevaluate(tmp_path / "x", "empty", tmp_path), "neither a run directory"),
    ]
    unweighted = tmp_path / "unweighted"
    shutil.copytree(seeds / "seed0", unweighted, ignore=shutil.ignore_patterns("model.safetensors*"))
    cases.append((lambda: reevaluate(tmp_path / "x", "raw", unweighted), "has no trained weights"))
    for call, message in cases:
        assert call() == EXIT_USER_ERROR
        assert message in capsys.readouterr().err.replace("\n", " ")
    assert not (tmp_path / "x").exists()
