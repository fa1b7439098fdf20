"""LeRobot interoperability: the wrapped LeRobot ACT / Diffusion Policy in our harness, and the dataset bridge."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

pytest.importorskip(
    "lerobot", reason="LeRobot extra not installed: pip install -e '.[lerobot]' && pip install --no-deps lerobot==0.4.4"
)

from polibench import registry  # noqa: E402
from polibench.cli import main  # noqa: E402
from polibench.components.data_source.lerobot_dataset import LeRobotDatasetSource  # noqa: E402
from polibench.components.data_source.pusht_zarr import PushTZarr  # noqa: E402
from polibench.config import CONFIG_DIR
from polibench.data import lerobot_export  # noqa: E402
from polibench.data.windows import WindowSampler  # noqa: E402
from polibench.interop.lerobot import (  # noqa: E402
    INSTALL_HINT,
    LeRobotMissingError,
    make_lerobot_processors,
    require_lerobot,
)
from polibench.normalize import data_stats, minmax_stats  # noqa: E402
from polibench.policy import FeatureSpec  # noqa: E402
from polibench.tracks import get_track  # noqa: E402
from tests.tiny_run import assert_acts_in_gym_pusht  # noqa: E402
from tests.training import fit_steps, fixed_loss  # noqa: E402

TINY_BUDGET = [
    "polibench.TrainConfig.steps = 8", "polibench.TrainConfig.batch_size = 8",
    "polibench.TrainConfig.warmup_steps = 2",
    "polibench.TrainConfig.log_every = 4", "polibench.TrainConfig.val_every = 4",
    "polibench.TrainConfig.checkpoint_every = 4", "polibench.TrainConfig.device = 'cpu'",
    "polibench.EvalConfig.episodes = 2", "polibench.EvalConfig.max_steps = 20",
    "polibench.Experiment.val_fraction = 0.2",
]
TINY_ACT = dict(chunk_size=8, n_action_steps=8, dim_model=32, n_heads=4, dim_feedforward=64, n_encoder_layers=1,
                n_vae_encoder_layers=1)
TINY_DIFFUSION = dict(down_dims=(16, 32), diffusion_step_embed_dim=16, num_inference_steps=10)
KEYPOINTS = FeatureSpec(dict(get_track("keypoints").obs_shapes), 2)


def bindings(name: str, params: dict) -> list[str]:
    return [f"policy.{name}.{key} = {value!r}" for key, value in params.items()]


def run_cli(config: str, out, *extra: str) -> int:
    args = ["run", str(CONFIG_DIR / config), "--out", str(out), "--no-progress"]
    for binding in [*TINY_BUDGET, *extra]:
        args += ["--gin_param", binding]
    return main(args)


def built(name: str, data, params: dict):
    policy = registry.create("policy", name, spec=KEYPOINTS, **params)
    policy.normalizer.set_stats(data_stats(data, KEYPOINTS.vector_keys))
    return policy


@pytest.fixture(scope="module")
def exported(tmp_path_factory, zarr_path):
    """The first 4 real episodes exported as a LeRobotDataset (keypoints track)."""
    out = tmp_path_factory.mktemp("lerobot") / "pusht_keypoints"
    return lerobot_export.export(zarr_path, out, "local/pusht_keypoints", "keypoints", max_episodes=4)


def test_missing_lerobot_names_the_fix():
    with pytest.raises(LeRobotMissingError, match="pip install --no-deps lerobot==0.4.4") as info:
        require_lerobot("lerobot.no_such_module")
    assert INSTALL_HINT in str(info.value)


@pytest.mark.slow
def test_tiny_run_lerobot_act_on_exported_dataset(tmp_path, exported):
    """Trained by our trainer on the LeRobotDataset source, evaluated in gym-pusht, reloaded from the run dir."""
    out = tmp_path / "run"
    source = ["polibench.Experiment.data_source = @data_source.lerobot_dataset()",
              f"data_source.lerobot_dataset.root = '{exported}'"]
    assert run_cli("lerobot_act.gin", out, *source, *bindings("lerobot_act", TINY_ACT)) == 0
    assert len((out / "eval" / "episodes.jsonl").read_text().splitlines()) == 2
    assert [json.loads(line)["step"] for line in (out / "train_log.jsonl").read_text().splitlines()] == [4, 8]
    assert_acts_in_gym_pusht(out, steps=10, seed=100000)


@pytest.mark.slow
def test_tiny_run_lerobot_diffusion(tmp_path):
    out = tmp_path / "run"
    assert run_cli("lerobot_diffusion.gin", out, "data_source.pusht_zarr.max_episodes = 5",
                   *bindings("lerobot_diffusion", TINY_DIFFUSION)) == 0
    assert (out / "eval" / "metrics.json").exists()
    import polibench

    policy = polibench.load_policy(out)
    policy.reset()
    obs = {"agent_pos": np.array([200.0, 300.0]), "environment_state": np.full(16, 250.0)}
    called = []
    for _ in range(10):
        assert policy.select_action(obs).shape == (2,)
        called.append(policy.last_call.model_called)
    assert called == [True] + [False] * 7 + [True, False]  # 8 executed actions per sampled chunk


@pytest.mark.parametrize("name,params", [("lerobot_act", TINY_ACT), ("lerobot_diffusion", TINY_DIFFUSION)])
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(small_data, name, params):
    torch.manual_seed(0)
    policy = built(name, small_data, params)
    sampler = WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
    batch = sampler.sample(64, torch.Generator().manual_seed(1))
    before = fixed_loss(policy, batch)
    fit_steps(policy, sampler, steps=15, lr=1e-3)
    assert fixed_loss(policy, batch) < before


@pytest.mark.parametrize("name,params", [("lerobot_act", TINY_ACT), ("lerobot_diffusion", TINY_DIFFUSION)])
def test_keypoints_reach_the_wrapped_model_normalised(small_data, name, params):
    """LeRobot's default mapping leaves ENV raw; ours maps it to MIN_MAX, in our normaliser and LeRobot's."""
    policy = built(name, small_data, params)
    assert policy.model.config.normalization_mapping["ENV"].value == "MIN_MAX"
    seen = []
    convert = policy.to_lerobot

    def recording(batch, keep_time):
        seen.append(convert(batch, keep_time))
        return seen[-1]

    policy.to_lerobot = recording
    sampler = WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
    policy.compute_loss(sampler.sample(64, torch.Generator().manual_seed(2)))
    keypoints = seen[0]["observation.environment_state"]
    assert keypoints.abs().max() <= 1.0 + 1e-6 and keypoints.std() > 0.1

    preprocess, postprocess = make_lerobot_processors(policy)
    raw = {"observation.state": torch.as_tensor(small_data.obs["agent_pos"][:32]),
           "observation.environment_state": torch.as_tensor(small_data.obs["environment_state"][:32]),
           "action": torch.as_tensor(small_data.action[:32])}
    theirs = preprocess(raw)["observation.environment_state"]
    ours = policy.normalizer.normalize("environment_state", raw["observation.environment_state"])
    torch.testing.assert_close(theirs, ours)


@pytest.mark.parametrize("track,episodes", [("keypoints", 4), ("pixels", 2)])
def test_export_then_lerobot_source_equals_the_zarr(tmp_path, zarr_path, exported, track, episodes):
    root = exported if track == "keypoints" else lerobot_export.export(zarr_path, tmp_path / "px", "local/px", track,
                                                                        max_episodes=episodes)
    ours = PushTZarr(path=zarr_path, track=track, max_episodes=episodes).load()
    theirs = LeRobotDatasetSource(root=root, track=track).load()
    np.testing.assert_array_equal(theirs.episode_ends, ours.episode_ends)
    np.testing.assert_array_equal(theirs.episode_ids, ours.episode_ids)
    np.testing.assert_array_equal(theirs.action, ours.action)
    assert theirs.obs.keys() == ours.obs.keys()
    for key in ours.obs:
        np.testing.assert_array_equal(theirs.obs[key], ours.obs[key])


def test_exporter_refuses_a_non_empty_out_dir_and_leaves_no_partial_dataset(tmp_path, zarr_path, monkeypatch):
    parser = argparse.ArgumentParser()
    lerobot_export.add_arguments(parser)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    with pytest.raises(lerobot_export.ExportTargetExistsError, match="not empty"):
        lerobot_export.main(parser.parse_args(["--zarr", str(zarr_path), "--out", str(taken), "--max-episodes", "1"]))
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(lerobot_export, "write_dataset", crash)
    with pytest.raises(RuntimeError):
        lerobot_export.export(zarr_path, tmp_path / "new", "local/x", max_episodes=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_missing_local_dataset_is_a_clear_error(tmp_path):
    from polibench.data.download import DatasetNotFoundError

    with pytest.raises(DatasetNotFoundError, match="export-lerobot"):
        LeRobotDatasetSource(root=tmp_path / "nowhere").load()


@pytest.mark.parametrize("name,params", [("lerobot_act", TINY_ACT), ("lerobot_diffusion", TINY_DIFFUSION)])
def test_pixels_track_trains_and_acts(zarr_path, name, params):
    data = PushTZarr(path=zarr_path, track="pixels", max_episodes=2).load()
    spec = FeatureSpec(dict(get_track("pixels").obs_shapes), 2)
    policy = registry.create("policy", name, spec=spec, **params)
    policy.normalizer.set_stats(minmax_stats({"agent_pos": data.obs["agent_pos"], "action": data.action}))
    sampler = WindowSampler(data, policy.obs_offsets, policy.action_offsets)
    loss = policy.compute_loss(sampler.sample(4, torch.Generator().manual_seed(0)))["loss"]
    loss.backward()
    assert torch.isfinite(loss)
    policy.reset()
    action = policy.select_action({key: data.obs[key][0] for key in spec.obs_shapes})
    assert action.shape == (2,) and np.all(np.isfinite(action))
