"""ACT: real training steps on real data lower the loss; temporal ensembling; the pixels track builds and trains."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from polibench import registry
from polibench.data.windows import WindowSampler
from polibench.normalize import data_stats
from polibench.policy import FeatureSpec
from polibench.tracks import TRACKS
from tests.training import fit_steps, fixed_loss

KEYPOINTS = FeatureSpec(TRACKS["keypoints"].obs_shapes, 2)
SMALL = dict(horizon=10, dim=64, heads=4, ff_dim=128, encoder_layers=2, decoder_layers=1, vae_layers=1, dropout=0.0)


def make_act(spec: FeatureSpec, data, **kw):
    policy = registry.create("policy", "act", spec=spec, **{**SMALL, **kw})
    policy.normalizer.set_stats(data_stats(data, spec.vector_keys))
    return policy


def test_training_steps_lower_the_loss_on_real_data(small_data):
    torch.manual_seed(0)
    policy = make_act(KEYPOINTS, small_data)
    sampler = WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
    fixed = sampler.sample(256, torch.Generator().manual_seed(99))
    before = fixed_loss(policy, fixed, "l1")
    out = fit_steps(policy, sampler, 60)
    after = fixed_loss(policy, fixed, "l1")
    assert after < 0.7 * before, (before, after)
    assert set(out) == {"loss", "l1", "kl"}


def test_padded_actions_do_not_contribute_to_l1(small_data):
    policy = make_act(KEYPOINTS, small_data, use_vae=False)
    policy.eval()
    sampler = WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
    last = torch.as_tensor(small_data.episode_ends[:3] - 2)  # anchors whose chunk runs past the episode end
    batch = sampler.get(last)
    assert batch["action_is_pad"].any()
    base = policy.compute_loss(batch)["l1"]
    batch["action"][batch["action_is_pad"]] += 1000.0
    torch.testing.assert_close(policy.compute_loss(batch)["l1"], base)


def test_temporal_ensembling_weights_oldest_prediction_most(small_data):
    policy = make_act(KEYPOINTS, small_data, temporal_ensemble_coeff=0.5)
    chunks = iter([torch.full((1, 10, 2), 100.0), torch.full((1, 10, 2), 300.0)])
    policy.predict_chunk = lambda obs: next(chunks)  # fixed chunks isolate the ensembling arithmetic
    obs = {"agent_pos": np.zeros(2), "environment_state": np.zeros(16)}
    policy.reset()
    assert policy.select_action(obs) == pytest.approx([100.0, 100.0])
    w_old, w_new = 1.0, np.exp(-0.5)
    expected = (w_old * 100 + w_new * 300) / (w_old + w_new)
    assert policy.select_action(obs) == pytest.approx([expected, expected], rel=1e-5)
    assert policy.last_call.model_called


def test_chunk_queue_calls_model_once_per_n_action_steps(small_data):
    policy = make_act(KEYPOINTS, small_data, temporal_ensemble_coeff=None, n_action_steps=4)
    policy.reset()
    obs = {"agent_pos": small_data.obs["agent_pos"][0], "environment_state": small_data.obs["environment_state"][0]}
    calls = []
    for _ in range(8):
        action = policy.select_action(obs)
        calls.append(policy.last_call.model_called)
        assert action.shape == (2,)
    assert calls == [True, False, False, False] * 2


def test_batched_select_action(small_data):
    policy = make_act(KEYPOINTS, small_data)
    policy.reset()
    obs = {k: v[:3] for k, v in small_data.obs.items()}
    assert policy.select_action(obs).shape == (3, 2)


def test_wrong_observation_shape_is_a_clear_error(small_data):
    policy = make_act(KEYPOINTS, small_data)
    with pytest.raises(ValueError, match="environment_state.*trained on \\(16,\\)"):
        policy.select_action({"agent_pos": np.zeros(2), "environment_state": np.zeros(10)})


def test_pixels_track_builds_and_takes_a_training_step(zarr_path):
    from polibench.components.data_source.pusht_zarr import PushTZarr

    data = PushTZarr(path=zarr_path, track="pixels", max_episodes=2).load()
    assert data.obs["pixels"].dtype == np.uint8 and data.obs["pixels"].shape[1:] == (96, 96, 3)
    spec = FeatureSpec(TRACKS["pixels"].obs_shapes, 2)
    policy = make_act(spec, data)
    sampler = WindowSampler(data, policy.obs_offsets, policy.action_offsets)
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-4)
    before = [p.detach().clone() for p in policy.encoder.tokenizer.encoders["pixels"].parameters()]
    out = policy.compute_loss(sampler.sample(4, torch.Generator().manual_seed(0)))
    opt.zero_grad()
    out["loss"].backward()
    opt.step()
    after = list(policy.encoder.tokenizer.encoders["pixels"].parameters())
    assert torch.isfinite(out["loss"])
    assert any(not torch.equal(a, b) for a, b in zip(before, after)), "the image backbone received no update"
    policy.reset()
    action = policy.select_action({"agent_pos": data.obs["agent_pos"][0], "pixels": data.obs["pixels"][0]})
    assert action.shape == (2,)


@pytest.mark.parametrize("name, sizes", [
    ("act", SMALL),
    ("ctm_act", {**{k: v for k, v in SMALL.items() if k != "decoder_layers"}, "neurons": 64, "memory": 4, "ticks": 4,
                 "action_pairs": 16, "out_pairs": 32, "n_action_steps": 4, "temporal_ensemble_coeff": None}),
])
def test_observation_history_gives_one_encoder_token_per_step(small_data, name, sizes):
    """ACT and CTM-ACT share the encoder: two observation steps are two tokens per observation entry."""
    policy = registry.create("policy", name, spec=KEYPOINTS, **{**sizes, "n_obs_steps": 2})
    policy.normalizer.set_stats(data_stats(small_data, KEYPOINTS.vector_keys))
    sampler = WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
    batch = policy.normalize_batch(sampler.sample(4, torch.Generator().manual_seed(0)))
    assert policy.obs_offsets == [-1, 0]
    assert policy.encoder.tokenizer(batch).shape == (4, 2 * len(KEYPOINTS.obs_shapes), SMALL["dim"])
    policy.reset()
    obs = {"agent_pos": small_data.obs["agent_pos"][0], "environment_state": small_data.obs["environment_state"][0]}
    assert policy.select_action(obs).shape == (2,)


def test_mlp_chunk_floor_trains_on_real_data(small_data):
    torch.manual_seed(0)
    policy = registry.create("policy", "mlp_chunk", spec=KEYPOINTS, hidden=64, layers=2)
    policy.normalizer.set_stats(data_stats(small_data, KEYPOINTS.vector_keys))
    sampler = WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
    fixed = sampler.sample(256, torch.Generator().manual_seed(1))
    before = fixed_loss(policy, fixed)
    fit_steps(policy, sampler, 60)
    assert fixed_loss(policy, fixed) < 0.7 * before
