"""The budget figure on a tiny real sweep whose runs logged check rollouts, and on the committed headline."""

from __future__ import annotations

import numpy as np

from polibench.viz.figures.save import png_bytes
from report_gen.figures.budget import budget_figure, check_curve, collect
from tests.conftest import REPO
from tests.test_ablate import ablate_cli

PNG = b"\x89PNG\r\n\x1a\n"


def test_learning_curves_and_benchmark_points_from_sweeps(tmp_path, data_env):
    sweep = tmp_path / "sweep"
    checks = ["polibench.TrainConfig.eval_every = 6", "polibench.TrainConfig.eval_episodes = 2",
              "polibench.TrainConfig.eval_n_envs = 2"]
    assert ablate_cli(sweep, *(a for b in checks for a in ("--gin_param", b)), seeds=2) == 0
    policies = collect([sweep, REPO / "studies" / "ctm_act_pusht" / "results" / "cpu" / "headline"])
    tiny = [p for p in policies if len(p.curves)]
    assert tiny and all(len(p.curves) == 2 for p in tiny)  # two seeds, each with its check curve
    steps, values = tiny[0].curves[0]["avg_max_coverage"]
    assert list(steps) == [6, 12] and np.all((0 <= values) & (values <= 1))
    headline = {p.name: p for p in policies}["act"]
    assert list(headline.points) == [6000] and not headline.curves  # no check rollouts in those runs
    assert png_bytes(budget_figure(policies)).startswith(PNG)


def test_a_run_without_check_rollouts_has_an_empty_curve(tmp_path):
    assert all(len(s) == 0 for s, _ in check_curve(tmp_path).values())


def test_one_budget_evaluated_twice_keeps_the_larger_evaluation():
    """headline (50 episodes per seed) and headline_6k_500 (500) are both 6000 steps: ACT's 6000-step point is the
    500-episode one, whichever sweep comes first."""
    results = REPO / "studies" / "ctm_act_pusht" / "results" / "cpu"
    for order in ([results / "headline", results / "headline_6k_500"], [results / "headline_6k_500", results / "headline"]):
        act = {p.name: p for p in collect(order)}["act"]
        assert list(act.points) == [6000] and act.points[6000]["success_rate"]["n"] == 1500


def test_the_budget_figure_is_written_on_its_own_from_committed_sweeps(tmp_path, capsys):
    """`python -m report_gen.figures.budget` writes the budget figure as a file, the README's copy; a
    directory without results.json is refused with the fix and nothing is written."""
    import pytest

    from report_gen.figures.budget import main

    results = REPO / "studies" / "ctm_act_pusht" / "results" / "cpu"
    out = tmp_path / "budget.png"
    assert main([str(results / "headline"), str(results / "headline_6k_500"), "--out", str(out)]) == 0
    assert out.read_bytes().startswith(PNG)
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path), "--out", str(tmp_path / "other.png")])
    assert exit_.value.code == 2 and "give finished sweep directories" in capsys.readouterr().err
    assert not (tmp_path / "other.png").exists()
