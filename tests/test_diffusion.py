"""Diffusion Policy: denoiser shapes, real training lowers the loss, DDPM/DDIM swap by gin, bounded samples,
denoiser calls per chunk, and the chunk queue with the horizon starting one step in the past."""

from __future__ import annotations

from functools import partial

import gin
import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from polibench import registry
from polibench.config import parse
from polibench.data.windows import WindowSampler
from polibench.normalize import minmax_stats
from polibench.policy import FeatureSpec
from polibench.settings import Experiment, build_policy
from polibench.tracks import TRACKS
from polibench.training.config import TrainConfig
from tests.training import fit_steps, fixed_loss

KEYPOINTS = FeatureSpec(TRACKS["keypoints"].obs_shapes, 2)
TINY_UNET = dict(down_dims=(32, 64), kernel_size=5, n_groups=8, step_embed_dim=32)
TINY_TRANSFORMER = dict(dim=32, heads=2, layers=2, ff_dim=64, dropout=0.0)
TINY_BINDINGS = "\n".join(f"head.unet1d.{k} = {v!r}" for k, v in TINY_UNET.items())


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny nets gain nothing from threads, and two threads each on 2 busy shared cores run ~10x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def with_stats(policy, data):
    arrays = {k: data.obs[k] for k in policy.spec.vector_keys} | {"action": data.action}
    policy.normalizer.set_stats(minmax_stats(arrays))
    return policy


def make_diffusion(data, spec: FeatureSpec = KEYPOINTS, **kw):
    kw.setdefault("denoiser", partial(registry.get("head", "unet1d"), **TINY_UNET))
    return with_stats(registry.create("policy", "diffusion", spec=spec, **kw), data)


def first_obs(data) -> dict[str, np.ndarray]:
    return {k: v[0] for k, v in data.obs.items()}


def count_calls(module: torch.nn.Module) -> list[int]:
    calls: list[int] = []
    module.register_forward_hook(lambda *_: calls.append(1))
    return calls


@pytest.mark.parametrize("name, sizes", [("unet1d", TINY_UNET), ("transformer_denoiser", TINY_TRANSFORMER)])
def test_denoisers_map_a_noisy_chunk_to_its_shape(name, sizes):
    denoiser = registry.create("head", name, action_dim=2, cond_dim=36, **sizes)
    out = denoiser(torch.randn(3, 16, 2), torch.tensor([0, 50, 99]), torch.randn(3, 36))
    assert out.shape == (3, 16, 2)


def test_unet_rejects_a_horizon_it_cannot_halve():
    unet = registry.create("head", "unet1d", action_dim=2, cond_dim=36, down_dims=(16, 32, 64), step_embed_dim=16)
    with pytest.raises(ValueError, match="divisible by 4"):
        unet(torch.randn(1, 10, 2), torch.tensor([1]), torch.randn(1, 36))


def test_training_steps_lower_the_loss_on_real_data(small_data):
    torch.manual_seed(0)
    policy = make_diffusion(small_data)
    sampler = WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
    fixed = sampler.sample(256, torch.Generator().manual_seed(99))
    before = fixed_loss(policy, fixed)  # same batch, same timesteps and noise every time
    out = fit_steps(policy, sampler, 40)
    after = fixed_loss(policy, fixed)
    assert after < 0.5 * before, (before, after)
    assert set(out) == {"loss", "diffusion_mse"}


def test_sample_prediction_trains_on_the_clean_chunk(small_data):
    policy = make_diffusion(small_data, noise_scheduler=partial(registry.get("noise_scheduler", "ddpm"),
                                                                prediction_type="sample"))
    batch = policy.normalize_batch(WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
                                   .sample(4, torch.Generator().manual_seed(0)))
    torch.testing.assert_close(policy(batch)["target"], batch["action"])


def test_padded_steps_do_not_contribute_to_the_loss():
    loss = registry.create("loss", "diffusion_mse")
    pred, target = torch.zeros(2, 4, 2), torch.ones(2, 4, 2)
    is_pad = torch.tensor([[True, False, False, False], [False, False, False, True]])
    base = loss({"pred": pred, "target": target}, {"action_is_pad": is_pad})
    target[is_pad] = 1000.0
    torch.testing.assert_close(loss({"pred": pred, "target": target}, {"action_is_pad": is_pad}), base)


def test_unmasked_loss_trains_on_padded_steps_as_lerobot():
    loss = registry.create("loss", "diffusion_mse", mask_padding=False)
    pred, target = torch.zeros(1, 4, 2), torch.ones(1, 4, 2)
    target[0, 3] = 3.0
    is_pad = torch.tensor([[False, False, False, True]])
    torch.testing.assert_close(loss({"pred": pred, "target": target}, {"action_is_pad": is_pad}),
                               torch.tensor((3 * 1.0 + 9.0) / 4))


def test_gin_binding_swaps_ddpm_for_ddim(small_data):
    registry.load_plugins()
    gin.parse_config(TINY_BINDINGS)
    assert isinstance(registry.create("policy", "diffusion", spec=KEYPOINTS).noise_scheduler, DDPMScheduler)
    gin.parse_config("policy.diffusion.noise_scheduler = @noise_scheduler.ddim\n"
                     "policy.diffusion.num_inference_steps = 10\n"
                     "noise_scheduler.ddim.num_train_timesteps = 50")
    policy = with_stats(registry.create("policy", "diffusion", spec=KEYPOINTS), small_data)
    assert isinstance(policy.noise_scheduler, DDIMScheduler)
    assert policy.noise_scheduler.config.num_train_timesteps == 50
    calls = count_calls(policy.denoiser)
    policy.select_action(first_obs(small_data))
    assert len(calls) == 10


@pytest.mark.parametrize("gin_file, scheduler, track", [("gin/diffusion.gin", DDPMScheduler, "keypoints"),
                                                        ("gin/diffusion_ddim.gin", DDIMScheduler, "keypoints"),
                                                        ("gin/diffusion_paper.gin", DDPMScheduler, "pixels")])
def test_shipped_gin_files_assemble_the_policy(gin_file, scheduler, track, monkeypatch):
    from tests.conftest import REPO

    monkeypatch.chdir(REPO)
    parse([gin_file], TINY_BINDINGS.splitlines())  # tiny widths: this checks the bindings, not the sizes
    exp = Experiment()
    policy = build_policy(exp, FeatureSpec(TRACKS[track].obs_shapes, 2))
    assert exp.track == track and isinstance(policy.noise_scheduler, scheduler)
    assert (policy.horizon, policy.n_obs_steps, policy.n_action_steps, policy.action_start) == (16, 2, 8, 1)
    assert TrainConfig().ema_decay == 0.9999


@pytest.mark.parametrize("scheduler", ["ddpm", "ddim"])
def test_sampled_actions_stay_inside_the_data_bounds(small_data, scheduler):
    # clip_sample off, so the policy's own final clip is what keeps an untrained model's samples in range.
    factory = partial(registry.get("noise_scheduler", scheduler), clip_sample=False)
    policy = make_diffusion(small_data, noise_scheduler=factory, num_inference_steps=5).eval()
    obs = {k: torch.as_tensor(v[:64]).unsqueeze(1).repeat(1, 2, *[1] * (v.ndim - 1)) for k, v in small_data.obs.items()}
    torch.manual_seed(0)
    actions = policy.predict_chunk(obs)
    lo, hi = small_data.action.min(axis=0), small_data.action.max(axis=0)
    assert actions.shape == (64, 16, 2)
    assert (actions.numpy() >= lo - 1e-3).all() and (actions.numpy() <= hi + 1e-3).all()
    torch.manual_seed(0)
    torch.testing.assert_close(policy.predict_chunk(obs), actions)  # seeded sampling repeats


def test_num_inference_steps_sets_denoiser_calls_per_chunk(small_data):
    policy = make_diffusion(small_data)
    calls = count_calls(policy.denoiser)
    for steps, expected in [(None, 100), (10, 10), (3, 3)]:  # None: all of DDPM's 100 training steps
        policy.num_inference_steps = steps
        policy.reset()
        policy.select_action(first_obs(small_data))
        assert len(calls) == expected, steps
        calls.clear()


def test_chunk_queue_calls_the_model_once_per_8_steps_from_action_start(small_data):
    policy = make_diffusion(small_data, num_inference_steps=2)
    assert policy.action_start == 1
    assert policy.obs_offsets == [-1, 0] and policy.action_offsets == list(range(-1, 15))
    policy.reset()
    calls = []
    for _ in range(16):
        assert policy.select_action(first_obs(small_data)).shape == (2,)
        calls.append(policy.last_call.model_called)
    assert calls == ([True] + [False] * 7) * 2
    # The executed actions are chunk[1:9]: index 0 is the action of the previous observation.
    chunk = torch.arange(16.0).view(1, 16, 1).expand(1, 16, 2)
    policy.predict_chunk = lambda obs: chunk
    policy.reset()
    executed = [policy.select_action(first_obs(small_data))[0] for _ in range(8)]
    assert executed == list(range(1, 9))


def test_pixels_track_builds_trains_and_acts(zarr_path):
    from polibench.components.data_source.pusht_zarr import PushTZarr

    data = PushTZarr(path=zarr_path, track="pixels", max_episodes=2).load()
    policy = make_diffusion(data, spec=FeatureSpec(TRACKS["pixels"].obs_shapes, 2), num_inference_steps=2)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in policy.backbones.modules())
    sampler = WindowSampler(data, policy.obs_offsets, policy.action_offsets)
    out = policy.compute_loss(sampler.sample(2, torch.Generator().manual_seed(0)))
    out["loss"].backward()
    assert torch.isfinite(out["loss"])
    assert all(p.grad is not None for p in policy.backbones.parameters()), "the image backbone received no gradient"
    policy.reset()
    assert policy.select_action({"agent_pos": data.obs["agent_pos"][0], "pixels": data.obs["pixels"][0]}).shape == (2,)
