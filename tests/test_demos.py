"""The human ceiling, by two methods: the committed numbers are what the command computes from the demonstrations."""

from __future__ import annotations

import numpy as np
import pytest

from polibench.data.embedded import read_embedded
from polibench.evaluation.demos import demo_max_coverage, demo_replay, main
from polibench.evaluation.env import make_env, set_exact_state
from polibench.io import read_json
from tests.conftest import REPO


def test_demo_coverage_is_the_environments_own_measure():
    demos = read_embedded(max_episodes=3)
    best = demo_max_coverage(demos["state"], demos["episode_ends"])
    env = make_env("keypoints")
    last = [demos["state"][end - 1] for end in demos["episode_ends"]]
    for b, state in zip(best, last):
        set_exact_state(env, state)
        assert 0.0 <= env.unwrapped._get_coverage() <= b <= 1.0  # the best frame is at least the final one


def test_replaying_the_recorded_actions_retraces_the_recording():
    demos = read_embedded(max_episodes=3)
    frames = demo_max_coverage(demos["state"], demos["episode_ends"])
    replay = demo_replay(demos["state"], demos["action"], demos["episode_ends"])
    assert (replay["mean_drift"] < 1.0).all()  # pixels: the physics retraces the recorded block
    # the replay sees every recorded frame and, after the last action, one frame the recording does not hold
    assert (replay["max_coverage"] >= frames - 1e-6).all() and (replay["max_coverage"] > frames).any()
    assert set(replay["success"]) <= {0.0, 1.0}


def test_committed_human_ceiling_is_reproduced(tmp_path):
    assert main(["--out", str(tmp_path / "demos.json")]) == 0
    fresh, committed = read_json(tmp_path / "demos.json"), read_json(REPO / "studies" / "ctm_act_pusht" / "published" / "human_demos.json")
    assert fresh["episodes"] == 206
    np.testing.assert_allclose(fresh["per_episode_max_coverage"], committed["per_episode_max_coverage"], rtol=1e-9)
    assert fresh["avg_max_coverage"] == pytest.approx(committed["avg_max_coverage"])
    np.testing.assert_allclose(fresh["replay"]["per_episode_max_coverage"],
                               committed["replay"]["per_episode_max_coverage"], rtol=1e-9)
