"""Protocol metrics on hand-computable records, and the bootstrap aggregation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polibench.evaluation.metrics import (
    EPISODE_METRICS,
    bootstrap_ci,
    episode_metrics,
    jerk,
    pooled_latency,
    summarize,
)
from polibench.metric_table import METRICS, RANKED, VIEWS


def record(actions: list, coverage: list | None = None, called: list | None = None, ticks: list | None = None,
           latencies_s: list | None = None, agent_pos: np.ndarray | None = None) -> dict:
    """Per-episode metrics of a small hand-made episode (defaults: still agent, no coverage, one call at start)."""
    n = len(actions)
    return episode_metrics(
        agent_pos=np.zeros((n + 1, 2)) if agent_pos is None else agent_pos,
        actions=np.asarray(actions, dtype=float),
        coverage=np.zeros(n) if coverage is None else coverage,
        model_called=[True] + [False] * (n - 1) if called is None else called,
        ticks=[] if ticks is None else ticks,
        latencies_s=np.full(n, 1e-3) if latencies_s is None else latencies_s,
    )


def test_jerk_of_cubic_and_linear_motion() -> None:
    t = np.arange(10, dtype=float)
    assert jerk(np.stack([t**3, t**3], axis=1)) == pytest.approx(72.0)  # third difference 6 on both axes
    assert jerk(np.stack([t**3, 5 * t], axis=1)) == pytest.approx(36.0)
    assert jerk(np.stack([2 * t + 1, 3 * t**2], axis=1)) == pytest.approx(0.0)  # quadratics have zero jerk
    assert math.isnan(jerk(np.zeros((3, 2))))  # too short for a third difference


def test_action_change_and_chunk_jumps() -> None:
    # chunks of 3: big jumps (10) into steps 3 and 6 where a new chunk starts, 1 px moves inside a chunk
    xs = [0, 1, 2, 12, 13, 14, 24, 25]
    called = [True, False, False, True, False, False, True, False]
    m = record([[x, 0.0] for x in xs], called=called)
    assert m["action_change"] == pytest.approx((10 * 2 + 1 * 5) / 7)
    assert m["chunk_jump"] == pytest.approx(10.0)  # step 0's call is not a jump: nothing came before it
    assert m["within_chunk_change"] == pytest.approx(1.0)
    assert m["model_calls"] == 3
    assert record([[0, 0], [3, 4], [3, 4], [0, 0]])["action_change"] == pytest.approx(10 / 3)  # L2 norm


def test_per_step_policy_has_no_within_chunk_change() -> None:
    m = record([[0, 0], [3, 4], [3, 4]], called=[True, True, True])
    assert m["chunk_jump"] == pytest.approx(m["action_change"])
    assert math.isnan(m["within_chunk_change"])


def test_success_threshold_is_strict() -> None:
    at = record([[0, 0]] * 3, coverage=[0.2, 0.95, 0.9])
    assert at["success"] is False and at["max_coverage"] == pytest.approx(0.95) and at["max_reward"] == 1.0
    above = record([[0, 0]] * 3, coverage=[0.2, 0.9501, 0.9])
    assert above["success"] is True
    half = record([[0, 0]] * 2, coverage=[0.475, 0.1])
    assert half["max_reward"] == pytest.approx(0.5) and half["success"] is False


def test_ticks_and_latencies() -> None:
    m = record([[0, 0]] * 4, called=[True, False, True, False], ticks=[3, 5], latencies_s=[0.010, 0.001, 0.030, 0.001])
    assert m["ticks_per_call"] == pytest.approx(4.0)
    assert m["latency_per_call_ms"] == pytest.approx(20.0)
    assert m["latency_median_ms"] == pytest.approx(5.5)
    assert m["latency_p95_ms"] == pytest.approx(np.percentile([10, 1, 30, 1], 95))
    assert math.isnan(record([[0, 0]] * 2)["ticks_per_call"])  # not a CTM policy
    assert set(m) == set(EPISODE_METRICS) and m["n_steps"] == 4


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="disagree"):
        record([[0, 0]] * 3, coverage=[0.1, 0.2])


def test_bootstrap_interval_contains_mean_and_shrinks() -> None:
    rng = np.random.default_rng(1)
    small, large = rng.uniform(size=10), rng.uniform(size=400)
    a, b = bootstrap_ci(small), bootstrap_ci(large)
    for ci, x in ((a, small), (b, large)):
        assert ci["ci_low"] < ci["mean"] < ci["ci_high"] and ci["mean"] == pytest.approx(x.mean())
        assert ci["n"] == len(x)
    assert b["ci_high"] - b["ci_low"] < 0.5 * (a["ci_high"] - a["ci_low"])
    assert bootstrap_ci(small) == a  # fixed seed: reproducible
    constant = bootstrap_ci([1.0, 1.0, 1.0])
    assert constant["ci_low"] == constant["ci_high"] == 1.0


def test_bootstrap_drops_missing_values() -> None:
    ci = bootstrap_ci([1.0, float("nan"), 3.0, None])
    assert ci["n"] == 2 and ci["mean"] == pytest.approx(2.0)
    empty = bootstrap_ci([float("nan"), None])
    assert empty["n"] == 0 and math.isnan(empty["mean"]) and math.isnan(empty["ci_low"])


def test_summarize_uses_protocol_names() -> None:
    rows = [record([[0, 0]] * 3, coverage=c) for c in ([0.1, 0.96, 0.5], [0.2, 0.3, 0.4], [0.5, 0.97, 0.1], [0.0] * 3)]
    summary = summarize(rows)
    assert summary["success_rate"]["mean"] == pytest.approx(0.5)
    assert summary["avg_max_coverage"]["mean"] == pytest.approx((0.96 + 0.4 + 0.97 + 0.0) / 4)
    assert summary["avg_max_reward"]["mean"] == pytest.approx((1 + 0.4 / 0.95 + 1 + 0) / 4)
    assert summary["chunk_jump"]["n"] == 0 and summary["within_chunk_change"]["n"] == 4
    assert {"success", "max_coverage", "max_reward"}.isdisjoint(summary)
    assert set(summary) >= {"jerk", "action_change", "n_steps", "model_calls", "latency_per_call_ms"}


def test_pooled_latency() -> None:
    pooled = pooled_latency([np.full(9, 0.001), np.array([0.002, 0.1])])
    assert pooled["latency_step_median_ms"] == pytest.approx(1.0)
    assert pooled["latency_step_p95_ms"] == pytest.approx(np.percentile([1] * 9 + [2, 100], 95))


def test_the_metric_table_covers_every_metric_the_evaluation_writes() -> None:
    """Each summary key that an evaluation writes has a row, in the order the summary lists them, and each place
    that shows metrics names rows that exist."""
    m = record([[0, 0]] * 4, called=[True, False, True, False], ticks=[3, 5])
    written = [*summarize([m]), *pooled_latency([np.full(4, 1e-3)])]
    assert written == list(METRICS)
    assert list(m) == [row.episode for row in METRICS.values() if row.episode]
    assert all(name in METRICS for names in VIEWS.values() for name in names)
    assert all(METRICS[row.pooled].episode is None for row in METRICS.values() if row.pooled)
    assert RANKED == {"success_rate": 1, "avg_max_coverage": 1, "avg_max_reward": 1, "jerk": -1,
                      "action_change": -1, "chunk_jump": -1}
