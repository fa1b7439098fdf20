"""The evaluation harness on the real env with scripted policies (no training needed)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from gym_pusht.envs.pusht import PushTEnv

from polibench.evaluation.rollout import evaluate, save_eval
from polibench.policy import CallInfo

SEEDS = [100000, 100001, 100002]


class ChunkedPusher:
    """Drives the agent at the T's centre; 'calls the model' every ``chunk`` steps like a chunking policy."""

    def __init__(self, chunk: int = 4, ticks: int = 3) -> None:
        self.chunk, self.ticks = chunk, ticks
        self.last_call = CallInfo()
        self.reset()

    def reset(self) -> None:
        self._queue: list[np.ndarray] = []

    def select_action(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        unbatched = np.asarray(obs["agent_pos"]).ndim == 1
        keypoints = np.asarray(obs["environment_state"]).reshape(-1, 8, 2)
        self.last_call = CallInfo()
        if not self._queue:
            self._queue = [keypoints.mean(axis=1)] * self.chunk
            self.last_call = CallInfo(model_called=True, ticks=np.full(len(keypoints), self.ticks))
        action = self._queue.pop(0)
        return action[0] if unbatched else action


class Hold:
    """Stays where it is; used to drive the pixel track through the batched path."""

    last_call = CallInfo(model_called=True)

    def reset(self) -> None:
        """Stateless."""

    def select_action(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(obs["agent_pos"], dtype=np.float32)


def test_one_episode_per_seed_with_valid_metrics() -> None:
    result = evaluate(ChunkedPusher(), "keypoints", SEEDS, max_steps=60, progress=False)
    assert [row["seed"] for row in result.per_episode] == SEEDS
    assert [row["episode_index"] for row in result.per_episode] == [0, 1, 2]
    for row in result.per_episode:
        assert 0.0 <= row["max_coverage"] <= 1.0 and 0.0 <= row["max_reward"] <= 1.0
        assert row["success"] in (0, 1)
        assert row["n_steps"] == 60 and row["model_calls"] == 15 and row["ticks_per_call"] == 3.0
        assert row["latency_median_ms"] > 0 and row["latency_per_call_ms"] > 0
        assert row["jerk"] >= 0 and row["chunk_jump"] > row["within_chunk_change"] == 0.0
    summary = result.summary
    assert summary["eval_batch"] == 1 and summary["success_rate"]["n"] == 3
    assert summary["latency_step_median_ms"] > 0
    mean_max_coverage = np.mean([r["max_coverage"] for r in result.per_episode])
    assert summary["avg_max_coverage"]["mean"] == pytest.approx(mean_max_coverage)


def test_same_seeds_same_episodes_whatever_the_batch() -> None:
    def coverage(n_envs: int) -> list[tuple[int, float, float]]:
        result = evaluate(ChunkedPusher(), "keypoints", SEEDS, n_envs=n_envs, max_steps=60, progress=False)
        assert result.summary["eval_batch"] == n_envs
        return [(r["seed"], r["max_coverage"], r["jerk"]) for r in result.per_episode]

    single = coverage(1)
    assert coverage(1) == single  # deterministic physics and seeding
    assert coverage(2) == single  # 2 rounds, the last one padded: still exactly 3 episodes
    assert len({c for _, c, _ in single}) == 3  # the seeds give different starts


def test_early_termination_in_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """An env that finishes mid-round is reset (autoreset is off) and ignored; its round-mate keeps going."""
    init = PushTEnv.__init__

    def low_bar(self: PushTEnv, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)
        self.success_threshold = 0.2  # terminate on 20% coverage, so some episodes end early

    monkeypatch.setattr(PushTEnv, "__init__", low_bar)
    runs = [evaluate(ChunkedPusher(), "keypoints", SEEDS, n_envs=n, max_steps=80, progress=False) for n in (1, 2)]
    steps = [[r["n_steps"] for r in run.per_episode] for run in runs]
    assert steps[0] == steps[1]
    assert min(steps[0][:2]) < max(steps[0][:2]), "the first round should have one env finish before the other"
    assert [r["max_coverage"] for r in runs[0].per_episode] == [r["max_coverage"] for r in runs[1].per_episode]


def test_pixels_track_batched() -> None:
    result = evaluate(Hold(), "pixels", SEEDS[:2], n_envs=2, max_steps=5, progress=False)
    assert [r["n_steps"] for r in result.per_episode] == [5, 5]
    assert all(r["action_change"] == pytest.approx(0.0, abs=1e-3) for r in result.per_episode)


def test_video_and_saved_files(tmp_path: Path) -> None:
    result = evaluate(ChunkedPusher(), "keypoints", SEEDS[:1], max_steps=10, progress=True,
                      video_dir=tmp_path / "videos")
    videos = list((tmp_path / "videos").iterdir())
    assert len(videos) == 1 and videos[0].stat().st_size > 0 and "seed100000" in videos[0].name
    save_eval(result, tmp_path / "eval")
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["config"] == {"seeds": SEEDS[:1], "n_envs": 1, "max_steps": 10, "track": "keypoints"}
    assert metrics["summary"]["avg_max_coverage"]["mean"] == pytest.approx(result.summary["avg_max_coverage"]["mean"])
    rows = [json.loads(line) for line in (tmp_path / "eval" / "episodes.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["seed"] == SEEDS[0]


def test_not_applicable_metrics_are_null_on_disk(tmp_path: Path) -> None:
    """NaN (e.g. no chunk boundary in an episode) is written as JSON null, which strict readers accept."""
    result = evaluate(ChunkedPusher(chunk=100), "keypoints", SEEDS[:1], max_steps=5, progress=False)
    assert math.isnan(result.per_episode[0]["chunk_jump"])
    save_eval(result, tmp_path)
    text = (tmp_path / "episodes.jsonl").read_text() + (tmp_path / "metrics.json").read_text()
    assert "NaN" not in text
    assert json.loads((tmp_path / "episodes.jsonl").read_text())["chunk_jump"] is None
