"""Every shipped policy config trains, saves, reloads through polibench.load_policy and acts in gym-pusht."""

from __future__ import annotations

import json

import pytest

from polibench.cli import main
from polibench.config import CONFIG_DIR
from tests.tiny_run import assert_acts_in_gym_pusht

BUDGET = [
    "polibench.TrainConfig.steps = 6", "polibench.TrainConfig.batch_size = 8", "polibench.TrainConfig.warmup_steps = 1",
    "polibench.TrainConfig.log_every = 3", "polibench.TrainConfig.val_every = 3",
    "polibench.TrainConfig.checkpoint_every = 3", "polibench.TrainConfig.device = 'cpu'",
    "polibench.EvalConfig.episodes = 1", "polibench.EvalConfig.max_steps = 16",
    "data_source.pusht_zarr.max_episodes = 10", "polibench.Experiment.val_fraction = 0.2",
]
TINY = {
    "diffusion.gin": ["head.unet1d.down_dims = (16, 32)", "head.unet1d.step_embed_dim = 16",
                      "policy.diffusion.num_inference_steps = 4"],
    "ctm_act_unet.gin": ["policy.ctm_act.dim = 32", "policy.ctm_act.ff_dim = 64", "policy.ctm_act.encoder_layers = 1",
                         "policy.ctm_act.vae_layers = 1", "policy.ctm_act.neurons = 32", "policy.ctm_act.memory = 4",
                         "policy.ctm_act.ticks = 3", "policy.ctm_act.action_pairs = 8",
                         "policy.ctm_act.out_pairs = 16"],
}


@pytest.mark.parametrize("gin_file", sorted(TINY))
def test_config_trains_reloads_and_acts(gin_file, tmp_path, zarr_path):
    out = tmp_path / "run"
    args = ["run", str(CONFIG_DIR / gin_file), "--out", str(out), "--no-progress", "--data", str(zarr_path)]
    for binding in BUDGET + TINY[gin_file]:
        args += ["--gin_param", binding]
    assert main(args) == 0
    episode = json.loads((out / "eval" / "episodes.jsonl").read_text().splitlines()[0])
    assert episode["n_steps"] == 16 and episode["model_calls"] == 2  # 8 actions executed per call
    if gin_file.startswith("ctm_act"):
        assert 1 <= episode["ticks_per_call"] <= 3  # ticks used per model call are recorded
    assert_acts_in_gym_pusht(out, steps=3, seed=7)
