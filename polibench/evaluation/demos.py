"""The human ceiling: how well the demonstrations themselves cover the goal, by the evaluation's own measure.

Two independent measures of the same ceiling. *Frames*: every recorded frame's block pose is placed in gym-pusht and
scored with the environment's coverage (the same number an evaluation episode's success and max coverage come
from). *Replay*: each recording's first state is placed exactly and its recorded actions are stepped through the
environment's physics, as an evaluation steps a policy's, so success ends the episode as it would there; how far
the replayed block drifts from the recorded one says how faithful the replay is. ``python -m
polibench.evaluation.demos`` prints and writes both per-episode best coverages of the 206 demonstrations, the
numbers a policy imitating them is measured against.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import numpy as np

from polibench.data.embedded import read_embedded
from polibench.evaluation.env import make_env, set_exact_state
from polibench.io import write_json
from polibench.tracks import SUCCESS_COVERAGE


def demo_max_coverage(state: np.ndarray, episode_ends: np.ndarray) -> np.ndarray:
    """Best coverage of the goal per demonstration, from the recorded states [N, 5] (agent x, y, block x, y,
    angle) and the episode ends."""
    env = make_env("keypoints")
    env.reset(seed=0)
    base = env.unwrapped
    coverage = np.empty(len(state))
    for i, (_, _, x, y, angle) in enumerate(np.asarray(state, dtype=np.float64)):
        base.block.angle = angle  # angle first, as polibench.evaluation.env.set_exact_state places a recorded pose
        base.block.position = (x, y)
        coverage[i] = base._get_coverage()
    env.close()
    return np.array([chunk.max() for chunk in np.split(coverage, np.asarray(episode_ends)[:-1])])


def demo_replay(state: np.ndarray, action: np.ndarray, episode_ends: np.ndarray,
                episodes: Sequence[int] | None = None) -> dict[str, np.ndarray]:
    """Each demonstration's recorded actions replayed from its exactly placed first state: per episode, the best
    coverage reached, whether the environment's success ended it (and at which step), and the replay's fidelity as
    the mean and final distance (pixels) between the replayed and the recorded block position."""
    env = make_env("keypoints")
    starts = np.concatenate([[0], np.asarray(episode_ends)[:-1]])
    chosen = range(len(starts)) if episodes is None else episodes
    out: dict[str, list[float]] = {"max_coverage": [], "success": [], "success_step": [], "mean_drift": [],
                                   "final_drift": []}
    for e in chosen:
        lo, hi = int(starts[e]), int(episode_ends[e])
        set_exact_state(env, state[lo])
        best, success_step, drift = 0.0, -1, []
        for t in range(lo, hi):
            _, _, terminated, _, info = env.step(action[t])
            best = max(best, float(info["coverage"]))
            if t + 1 < hi:
                drift.append(float(np.linalg.norm(np.asarray(env.unwrapped.block.position) - state[t + 1, 2:4])))
            if terminated:
                success_step = t - lo
                break
        out["max_coverage"].append(best)
        out["success"].append(float(success_step >= 0))
        out["success_step"].append(float(success_step))
        out["mean_drift"].append(float(np.mean(drift)) if drift else 0.0)
        out["final_drift"].append(drift[-1] if drift else 0.0)
    env.close()
    return {k: np.asarray(v) for k, v in out.items()}


def _summary(best: np.ndarray) -> dict[str, float]:
    return {"avg_max_coverage": float(best.mean()), "success_rate": float(np.mean(best > SUCCESS_COVERAGE)),
            "avg_max_reward": float(np.clip(best / SUCCESS_COVERAGE, 0.0, 1.0).mean()),
            "median_max_coverage": float(np.median(best))}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m polibench.evaluation.demos", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    demos = read_embedded()
    best = demo_max_coverage(demos["state"], demos["episode_ends"])
    replay = demo_replay(demos["state"], demos["action"], demos["episode_ends"])
    summary = {"episodes": int(len(best)), **_summary(best), "per_episode_max_coverage": best.tolist(),
               "replay": {**_summary(replay["max_coverage"]),
                          "mean_drift_px": float(replay["mean_drift"].mean()),
                          "median_final_drift_px": float(np.median(replay["final_drift"])),
                          **{f"per_episode_{k}": v.tolist() for k, v in replay.items()}}}
    print({k: v for k, v in summary.items() if not k.startswith("per_episode") and k != "replay"})
    print("replay:", {k: v for k, v in summary["replay"].items() if not k.startswith("per_episode")})
    if args.out:
        write_json(args.out, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
