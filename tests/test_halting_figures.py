"""Halting-study figures from real evaluations (the committed 3-seed halting evaluation the adaptive-compute
notebook shows); the reliability plot is drawn from a real calibration in tests/test_calibration.py."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection

from polibench.evaluation.env import make_env
from polibench.io import read_json
from polibench.viz.figures.halting import (
    difficulty_groups,
    every_call_ran_all_ticks,
    halting_study_figure,
    start_distance,
    ticks_by_difficulty_figure,
)
from polibench.viz.figures.save import png_bytes
from polibench.viz.halting import evaluated_episodes
from report_gen.notebooks import COMPUTE_DEFAULT

PNG = b"\x89PNG\r\n\x1a\n"


def test_start_distance_is_zero_at_the_goal_and_grows_with_offset_and_rotation():
    distances = start_distance(range(100000, 100030))
    assert distances.shape == (30,) and (distances > 0).all()
    env = make_env("keypoints")
    _, info = env.reset(seed=100000)
    assert np.isfinite(info["goal_pose"]).all()
    groups = difficulty_groups(distances)
    assert set(groups) == {0, 1, 2} and distances[groups == 2].min() >= distances[groups == 0].max()


def test_halting_figures_render_from_real_evaluations():
    runs, episodes, max_ticks = evaluated_episodes(COMPUTE_DEFAULT)  # committed: 3 seeds of 100 halting episodes
    assert len(runs) == 3 and len(episodes) == 300 and max_ticks == 10
    assert png_bytes(ticks_by_difficulty_figure(episodes, max_ticks=10)).startswith(PNG)
    summary = read_json(runs[0] / "eval" / "metrics.json")["summary"]
    panels = (("avg_max_coverage", "avg max coverage"), ("success_rate", "success rate"))
    fig = halting_study_figure({}, [("halting on", summary), ("copy", summary)], panels, max_ticks=10)
    assert [ax.get_ylabel() for ax in fig.axes] == ["avg max coverage", "success rate"]
    assert png_bytes(fig).startswith(PNG)
    with pytest.raises(ValueError, match="nothing to draw"):
        halting_study_figure({}, [], panels)


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_ticks_by_difficulty_draws_every_episode_and_says_when_no_call_halted_early():
    _, episodes, _ = evaluated_episodes(COMPUTE_DEFAULT)
    assert not every_call_ran_all_ticks(episodes, 10)  # this evaluation halts
    fig = ticks_by_difficulty_figure(episodes, max_ticks=10)
    points = sum(len(c.get_offsets()) for c in fig.axes[0].collections if isinstance(c, PathCollection))
    assert points == len(episodes)  # one point per evaluation episode, successes and failures
    assert not any("ran all" in t for t in _texts(fig))
    halting_off = [dict(e, ticks_per_call=10.0) for e in episodes]
    assert every_call_ran_all_ticks(halting_off, 10)
    assert any("all 10 ticks" in t for t in _texts(ticks_by_difficulty_figure(halting_off, max_ticks=10)))
