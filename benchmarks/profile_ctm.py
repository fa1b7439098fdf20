"""Where CTM-ACT's time goes: torch.profiler's top operators for one training step and one batch-1 call.

Run: ``python benchmarks/profile_ctm.py [gin file] [--rows N]`` (one thread, real data, untrained weights, past
the tick curriculum). The tables in benchmarks/README.md come from this script. Profiles are indicative (the
profiler adds per-op overhead); the timed numbers are the pytest-benchmark ones in ``test_speed.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from polibench.components.data_source.pusht_zarr import PushTZarr
from polibench.config import CONFIG_DIR, parse
from polibench.data.windows import WindowSampler
from polibench.normalize import data_stats
from polibench.policy import FeatureSpec
from polibench.precision import autocast
from polibench.settings import Experiment, build_policy
from polibench.tracks import TRACKS

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gin_file", nargs="?", default="ctm_act_unet.gin", help="config under gin/")
    parser.add_argument("--rows", type=int, default=15, help="operators to list per table")
    parser.add_argument("--precision", default="fp32", help="autocast precision of the training step")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    data = PushTZarr(max_episodes=20).load()  # $POLIBENCH_PUSHT_ZARR or the cache
    spec = FeatureSpec(TRACKS["keypoints"].obs_shapes, 2)
    parse([CONFIG_DIR / args.gin_file], ["halting.variance.enabled = False"])
    policy = build_policy(Experiment(), spec)
    policy.normalizer.set_stats(data_stats(data, spec.vector_keys))
    policy.set_training_progress(10**9, 10**9)
    sampler = WindowSampler(data, policy.obs_offsets, policy.action_offsets)
    gen = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-4)

    def train_step() -> None:
        with autocast("cpu", args.precision):
            loss = policy.compute_loss(sampler.sample(64, gen))["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    obs = {k: torch.as_tensor(v[:1])[:, None] for k, v in data.obs.items()}

    def call() -> None:
        policy.predict_chunk(obs)

    for name, fn, mode, reps in (("training step, batch 64", train_step, True, 5), ("model call, batch 1", call,
                                                                                     False, 50)):
        policy.train(mode)
        for _ in range(3):
            fn()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(reps):
                fn()
        print(f"\n### {args.gin_file}: {name} ({reps} repetitions, {args.precision if mode else 'fp32'})\n")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
