"""A tiny but real `polibench run` of gin/act.gin (seconds on the CPU), shared by the end-to-end tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from polibench.cli import main
from polibench.config import CONFIG_DIR

TINY = [
    "polibench.TrainConfig.steps = 12", "polibench.TrainConfig.batch_size = 8", "polibench.TrainConfig.warmup_steps = 2",
    "polibench.TrainConfig.log_every = 4", "polibench.TrainConfig.val_every = 4",
    "polibench.TrainConfig.checkpoint_every = 4", "polibench.TrainConfig.device = 'cpu'",
    "polibench.EvalConfig.episodes = 2", "polibench.EvalConfig.max_steps = 20",
    "data_source.pusht_zarr.max_episodes = 10", "polibench.Experiment.val_fraction = 0.2",
    "policy.act.dim = 32", "policy.act.ff_dim = 64", "policy.act.encoder_layers = 1", "policy.act.vae_layers = 1",
    "policy.act.horizon = 8",
]


def copy_run(run: Path, dest: Path) -> Path:
    """A copy of run directory ``run`` at ``dest``, for a test that changes it."""
    shutil.copytree(run, dest)
    return dest


def run_cli(out, *extra: str, resume: bool = False) -> int:
    args = ["run", str(CONFIG_DIR / "act.gin"), "--out", str(out), "--no-progress"]
    for binding in [*TINY, *extra]:
        args += ["--gin_param", binding]
    return main(args + (["--resume"] if resume else []))


def assert_acts_in_gym_pusht(run_dir, steps: int, seed: int) -> None:
    """polibench.load_policy(run_dir) steps gym-pusht from its raw observations with finite 2-d actions."""
    import numpy as np

    import polibench
    from polibench.evaluation.env import make_env

    policy = polibench.load_policy(run_dir)
    env = make_env(policy.track)
    obs, _ = env.reset(seed=seed)
    policy.reset()
    for _ in range(steps):
        action = policy.select_action(obs)
        assert action.shape == (2,) and np.all(np.isfinite(action))
        obs, *_ = env.step(action)
