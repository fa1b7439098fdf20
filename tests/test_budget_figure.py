"""The budget figure on a tiny real sweep whose runs logged check rollouts, and on the committed headline."""

from __future__ import annotations

import numpy as np

from report_gen.figures.budget import budget_figure, check_curve, collect
from report_gen.figures.save import png_bytes
from tests.conftest import REPO
from tests.test_ablate import ablate_cli

PNG = b"\x89PNG\r\n\x1a\n"


def test_learning_curves_and_benchmark_points_from_sweeps(tmp_path, data_env):
    sweep = tmp_path / "sweep"
    checks = ["polibench.TrainConfig.eval_every = 6", "polibench.TrainConfig.eval_episodes = 2",
              "polibench.TrainConfig.eval_n_envs = 2"]
    assert ablate_cli(sweep, *(a for b in checks for a in ("--gin_param", b)), seeds=2) == 0
    policies = collect([sweep, REPO / "benchmarks" / "results" / "cpu" / "headline"])
    tiny = [p for p in policies if len(p.curves)]
    assert tiny and all(len(p.curves) == 2 for p in tiny)  # two seeds, each with its check curve
    steps, values = tiny[0].curves[0]["avg_max_coverage"]
    assert list(steps) == [6, 12] and np.all((0 <= values) & (values <= 1))
    headline = {p.name: p for p in policies}["act"]
    assert list(headline.points) == [6000] and not headline.curves  # no check rollouts in those runs
    assert png_bytes(budget_figure(policies)).startswith(PNG)


def test_a_run_without_check_rollouts_has_an_empty_curve(tmp_path):
    assert all(len(s) == 0 for s, _ in check_curve(tmp_path).values())
