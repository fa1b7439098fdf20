"""Protocol metrics (see shared/docs/protocol.md): per episode from a rollout record, then bootstrap over episodes.

Pure numpy, so the numbers can be recomputed from saved records without the environment or torch. A metric that
does not apply to an episode (e.g. the jump at chunk boundaries of a policy that never chunks) is NaN and is left
out of that metric's aggregate.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from polibench.metric_table import METRICS, Metric
from polibench.tracks import SUCCESS_COVERAGE

#: The per-episode metrics of the metric table, in the order :func:`episode_metrics` returns them.
EPISODE_ROWS: tuple[Metric, ...] = tuple(m for m in METRICS.values() if m.episode)
#: Every metric :func:`episode_metrics` returns (its key in episodes.jsonl), in the order it returns them.
EPISODE_METRICS = tuple(m.episode for m in EPISODE_ROWS)
#: Per-episode key -> its summary name where they differ (the protocol's names, e.g. success -> success_rate).
SUMMARY_NAMES = {m.episode: m.name for m in EPISODE_ROWS if m.episode != m.name}

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def _mean_or_nan(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else float("nan")


def jerk(agent_pos: np.ndarray) -> float:
    """Mean over steps of the squared third difference of positions, summed over x and y (px^2 / step^6)."""
    pos = np.asarray(agent_pos, dtype=np.float64).reshape(-1, 2)
    if len(pos) < 4:
        return float("nan")
    return float(np.mean(np.sum(np.diff(pos, n=3, axis=0) ** 2, axis=1)))


def action_changes(actions: np.ndarray) -> np.ndarray:
    """L2 norm of the change of the executed action at each step t >= 1 (length n_steps - 1)."""
    act = np.asarray(actions, dtype=np.float64).reshape(len(actions), -1)
    return np.linalg.norm(np.diff(act, axis=0), axis=1)


def episode_metrics(
    agent_pos: np.ndarray,
    actions: np.ndarray,
    coverage: np.ndarray,
    model_called: np.ndarray,
    ticks: np.ndarray,
    latencies_s: np.ndarray,
) -> dict[str, Any]:
    """All per-episode metrics, as Python builtins.

    Args:
        agent_pos: agent positions [T(+1), 2] along the episode (the start position included, if known).
        actions: executed actions [T, 2], one per env step.
        coverage: goal coverage after each step [T].
        model_called: whether ``select_action`` ran the model at each step [T] (a new chunk started).
        ticks: ticks used by each model call (CTM policies), empty otherwise.
        latencies_s: wall time of ``select_action`` at each step [T], seconds.
    """
    coverage = np.asarray(coverage, dtype=np.float64)
    called = np.asarray(model_called, dtype=bool)
    ticks = np.asarray(ticks, dtype=np.float64).reshape(-1)
    lat_ms = np.asarray(latencies_s, dtype=np.float64) * 1e3
    n_steps = len(actions)
    if not (len(coverage) == len(called) == len(lat_ms) == n_steps):
        raise ValueError(
            f"per-step arrays disagree in length: actions {n_steps}, coverage {len(coverage)}, "
            f"model_called {len(called)}, latencies {len(lat_ms)}"
        )
    changes = action_changes(actions) if n_steps else np.zeros(0)
    at_new_chunk = called[1:]  # the change into step t happened where step t started a new chunk
    return {
        "success": bool(np.any(coverage > SUCCESS_COVERAGE)),
        "max_coverage": float(np.max(coverage)) if n_steps else float("nan"),
        "max_reward": float(np.max(np.clip(coverage / SUCCESS_COVERAGE, 0.0, 1.0))) if n_steps else float("nan"),
        "jerk": jerk(agent_pos),
        "action_change": _mean_or_nan(changes),
        "chunk_jump": _mean_or_nan(changes[at_new_chunk]),
        "within_chunk_change": _mean_or_nan(changes[~at_new_chunk]),
        "n_steps": int(n_steps),
        "model_calls": int(np.sum(called)),
        "ticks_per_call": _mean_or_nan(ticks),
        "latency_median_ms": float(np.median(lat_ms)) if n_steps else float("nan"),
        "latency_p95_ms": float(np.percentile(lat_ms, 95)) if n_steps else float("nan"),
        "latency_per_call_ms": _mean_or_nan(lat_ms[called]),
    }


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, float | int]:
    """Mean and percentile-bootstrap interval over episodes; NaN (and None) values are dropped first.

    A fresh generator per call with a fixed seed: the same values always give the same interval, whatever else
    was summarised before.
    """
    x = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": 0}
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    alpha = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(means, [alpha, 100 - alpha])
    return {"mean": float(x.mean()), "ci_low": float(low), "ci_high": float(high), "n": int(x.size)}


def summarize(per_episode: Sequence[Mapping[str, Any]], n_resamples: int = BOOTSTRAP_RESAMPLES) -> dict[str, Any]:
    """``{summary name: {"mean", "ci_low", "ci_high", "n"}}`` for every per-episode metric present in the rows."""
    present = [m for m in EPISODE_ROWS if any(m.episode in row for row in per_episode)]
    return {m.name: bootstrap_ci([row.get(m.episode) for row in per_episode], n_resamples=n_resamples)
            for m in present}


def pooled_latency(step_latencies_s: Sequence[np.ndarray]) -> dict[str, float]:
    """Mean, median and p95 (ms) of ``select_action`` wall time over every step of every episode pooled.

    The mean is the control-rate cost of chunked policies, whose median is a queue pop and whose model calls
    land in the tail."""
    pooled = np.concatenate([np.asarray(x, dtype=np.float64).reshape(-1) for x in step_latencies_s] or [np.zeros(0)])
    if pooled.size == 0:
        return {"latency_step_mean_ms": float("nan"), "latency_step_median_ms": float("nan"),
                "latency_step_p95_ms": float("nan")}
    return {
        "latency_step_mean_ms": float(np.mean(pooled) * 1e3),
        "latency_step_median_ms": float(np.median(pooled) * 1e3),
        "latency_step_p95_ms": float(np.percentile(pooled, 95) * 1e3),
    }
