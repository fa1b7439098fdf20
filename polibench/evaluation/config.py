"""Evaluation protocol settings (see ../shared/docs/protocol.md), set from gin/include/eval.gin."""

from __future__ import annotations

from dataclasses import dataclass

import gin

from polibench.precision import check_precision

#: The most episodes one evaluation runs (its seeds are listed in metrics.json), and the largest seed numpy takes.
MAX_EPISODES = 1_000_000
MAX_SEED = 2**32 - 1
#: Quick-check seeds used during training: a list disjoint from the benchmark's 100000+ seeds.
CHECK_SEED0 = 200000


@gin.configurable(module="polibench")
@dataclass
class EvalConfig:
    """Final evaluation: ``episodes`` episodes on seeds ``seed0 .. seed0 + episodes - 1``.

    ``num_threads`` torch threads during evaluation (1: the protocol's batch-1 latency on one core).
    ``precision`` is the autocast precision of the policy's calls (``fp32`` or ``bf16``), separate from the
    precision the run trained in: fp32 by default, so evaluations compare across training precisions.
    """

    episodes: int = 50
    seed0: int = 100000
    n_envs: int = 1
    max_steps: int = 300
    video: bool = False
    num_threads: int = 1
    precision: str = "fp32"

    def __post_init__(self) -> None:
        if self.episodes <= 0:
            raise ValueError(f"EvalConfig.episodes must be > 0, got {self.episodes}")
        if self.episodes > MAX_EPISODES:
            raise ValueError(f"EvalConfig.episodes = {self.episodes} is more than the {MAX_EPISODES} an evaluation "
                             "can hold (the protocol uses 50-500)")
        if not 0 <= self.seed0 or self.seed0 + self.episodes > MAX_SEED + 1:
            raise ValueError(f"EvalConfig.seed0 = {self.seed0}: the seeds seed0 .. seed0 + episodes - 1 must lie in "
                             f"0 .. {MAX_SEED} (what the environment accepts)")
        if self.n_envs <= 0 or self.max_steps <= 0 or self.num_threads <= 0:
            raise ValueError("EvalConfig.n_envs, max_steps and num_threads must be > 0")
        check_precision(self.precision, "EvalConfig")

    @property
    def seeds(self) -> list[int]:
        return list(range(self.seed0, self.seed0 + self.episodes))
