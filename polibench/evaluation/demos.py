"""The human ceiling: how well the demonstrations themselves cover the goal, by the evaluation's own measure.

Every recorded frame's block pose is placed in gym-pusht and scored with the environment's coverage (the same
number an evaluation episode's success and max coverage come from). ``python -m polibench.evaluation.demos``
prints and writes the per-episode best coverage of the 206 demonstrations, the number a policy imitating them is
measured against.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import numpy as np

from polibench.data.embedded import read_embedded
from polibench.evaluation.env import make_env
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m polibench.evaluation.demos", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    demos = read_embedded()
    best = demo_max_coverage(demos["state"], demos["episode_ends"])
    summary = {"episodes": int(len(best)), "avg_max_coverage": float(best.mean()),
               "success_rate": float(np.mean(best > SUCCESS_COVERAGE)),
               "avg_max_reward": float(np.clip(best / SUCCESS_COVERAGE, 0.0, 1.0).mean()),
               "median_max_coverage": float(np.median(best)), "per_episode_max_coverage": best.tolist()}
    print({k: v for k, v in summary.items() if k != "per_episode_max_coverage"})
    if args.out:
        write_json(args.out, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
