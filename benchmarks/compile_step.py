"""Does ``torch.compile`` make a training step cheaper at the same losses? Issue 36 item 5 asks before a long round.

Trains the same policy twice from the same seed on the same batches, once eager and once with its loss compiled
(``torch.compile(policy.compute_loss)``, inductor), and prints the median step time of each after warm-up, the
compile time, and the largest difference between the two runs' losses. Run it with nothing training beside it::

    python benchmarks/compile_step.py studies/ctm_act_pusht/gin/parity_ctm_act.gin --steps 40

Steps are full-size (past any tick curriculum), fp32, one thread, batch 64, as in the parity round.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from polibench.components.data_source.pusht_zarr import PushTZarr
from polibench.config import parse
from polibench.data.windows import WindowSampler
from polibench.normalize import data_stats
from polibench.policy import FeatureSpec, Policy
from polibench.settings import Experiment, build_policy
from polibench.tracks import TRACKS


def build(gin: Path, params: Sequence[str], data) -> Policy:
    parse([gin], params)
    torch.manual_seed(0)
    spec = FeatureSpec(TRACKS["keypoints"].obs_shapes, 2)
    policy = build_policy(Experiment(), spec)
    policy.normalizer.set_stats(data_stats(data, spec.vector_keys))
    policy.set_training_progress(10**9, 10**9)  # past any tick curriculum: the full-size step
    return policy.train()


def train(policy: Policy, loss_of: Callable, data, steps: int) -> tuple[list[float], list[float]]:
    """(losses, seconds per step) of ``steps`` AdamW steps on batches drawn from a fixed generator."""
    sampler = WindowSampler(data, policy.obs_offsets, policy.action_offsets)
    gen = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-4)
    losses, times = [], []
    for _ in range(steps):
        batch = sampler.sample(64, gen)
        torch.manual_seed(len(losses))  # dropout draws the same in both runs
        start = time.perf_counter()
        loss = loss_of(batch)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
        losses.append(loss.item())
    return losses, times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gin", type=Path)
    parser.add_argument("--gin_param", action="append", default=[])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5, help="steps left out of the median (the compile's first)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    data = PushTZarr().load()
    eager = build(args.gin, args.gin_param, data)
    eager_losses, eager_times = train(eager, eager.compute_loss, data, args.steps)
    compiled = build(args.gin, args.gin_param, data)
    compiled_losses, compiled_times = train(compiled, torch.compile(compiled.compute_loss), data, args.steps)
    e, c = (statistics.median(t[args.warmup:]) for t in (eager_times, compiled_times))
    gap = max(abs(a - b) for a, b in zip(eager_losses, compiled_losses))
    print(f"{args.gin.name}: eager {e * 1e3:.0f} ms/step, compiled {c * 1e3:.0f} ms/step ({e / c:.2f}x), first "
          f"compiled step {compiled_times[0]:.0f} s; largest loss difference over {args.steps} steps {gap:.2e} "
          f"(losses {eager_losses[0]:.4f} -> {eager_losses[-1]:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
