"""CTM-ACT: tick curriculum, per-sample halting, init_from an ACT run, tracing, carried state, real training steps."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from polibench import registry
from polibench.config import CONFIG_DIR, parse
from polibench.data.windows import WindowSampler
from polibench.normalize import minmax_stats
from polibench.policy import FeatureSpec
from polibench.settings import Experiment
from polibench.tracks import TRACKS
from polibench.training.checkpoint import save_weights
from polibench.training.warm_start import load_matching
from tests.training import fit_steps, fixed_loss

KEYPOINTS = FeatureSpec(TRACKS["keypoints"].obs_shapes, 2)
ENCODER = dict(horizon=10, dim=64, heads=4, ff_dim=128, encoder_layers=2, vae_layers=1, dropout=0.0)
SMALL = dict(ENCODER, neurons=64, memory=4, ticks=4, action_pairs=16, out_pairs=32)



def normalised(policy, data):
    arrays = {k: data.obs[k] for k in KEYPOINTS.vector_keys} | {"action": data.action}
    policy.normalizer.set_stats(minmax_stats(arrays))
    return policy


def make_ctm(data, **kw):
    return normalised(registry.create("policy", "ctm_act", spec=KEYPOINTS, **{**SMALL, **kw}), data)


def first_obs(data, n: int = 1) -> dict[str, np.ndarray]:
    return {k: v[0] if n == 1 else v[:n] for k, v in data.obs.items()}


def test_tick_curriculum_ramps_from_one_to_t_max_in_equal_stages(small_data):
    policy = make_ctm(small_data, ticks=8, curriculum_fraction=0.5)
    schedule = {step: policy.tick_schedule(step, 1000) for step in (0, 62, 63, 125, 437, 438, 500, 999)}
    assert schedule == {0: 1, 62: 1, 63: 2, 125: 3, 437: 7, 438: 8, 500: 8, 999: 8}
    assert make_ctm(small_data, ticks=8).tick_schedule(0, 1000) == 8  # fraction 0: no curriculum
    sampler = WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
    batch = policy.normalize_batch(sampler.sample(4, torch.Generator().manual_seed(0)))
    policy.set_training_progress(130, 1000)
    assert policy(batch)["tick_actions"].shape[1] == 3
    assert registry.create("policy", "ctm_act", spec=KEYPOINTS, **SMALL).ticks == SMALL["ticks"]  # loaded: T_max


def halting_policy(data, threshold: float, enabled: bool = True):
    halting = lambda n_sync_out: registry.get("halting", "variance")(n_sync_out, threshold, enabled)  # noqa: E731
    return make_ctm(data, ticks=6, halting=halting, temporal_ensemble_coeff=None)


def test_halting_uses_fewer_ticks_when_certain_and_all_ticks_when_disabled(small_data):
    obs = first_obs(small_data, n=3)
    certain = halting_policy(small_data, threshold=0.0)  # every certainty passes at the first tick
    certain.reset()
    certain.select_action(obs)
    assert certain.last_call.ticks.tolist() == [1, 1, 1]
    trace = certain.trace({k: torch.as_tensor(v)[:, None] for k, v in obs.items()})
    assert trace["tick_actions"].shape[1] == 1 and trace["halt_tick"].tolist() == [0, 0, 0]

    never = halting_policy(small_data, threshold=1.1)  # certainty < 1: no sample halts
    never.reset()
    never.select_action(obs)
    assert never.last_call.ticks.tolist() == [6, 6, 6]

    disabled = halting_policy(small_data, threshold=0.0, enabled=False)
    disabled.reset()
    disabled.select_action(obs)
    assert disabled.last_call.ticks.tolist() == [6, 6, 6]


def test_per_sample_halting_freezes_each_sample_at_its_own_tick(small_data):
    policy = halting_policy(small_data, threshold=1.1, enabled=False).eval()
    obs = policy.normalize_obs({k: torch.as_tensor(v)[:, None] for k, v in first_obs(small_data, n=4).items()})
    memory, _ = policy.encoder(obs)
    full = policy.core(memory, 6)
    threshold = full.certainty[:, 2].median().item()  # about half the samples pass at tick 3 at the latest
    policy.core.halting.threshold = threshold
    halted = policy.core(memory, 6, halt=True)
    first = [int(np.argmax(row >= threshold)) if (row >= threshold).any() else None
             for row in full.certainty.detach().numpy()]
    for b, tick in enumerate(first):
        expected = full.predictions[b, tick] if tick is not None else full.chunk[b]
        torch.testing.assert_close(halted.chunk[b], expected)
        assert halted.ticks_used[b].item() == (tick + 1 if tick is not None else 6)


def test_init_from_loads_the_encoder_of_an_act_run(small_data, tmp_path, caplog):
    torch.manual_seed(0)
    act = normalised(registry.create("policy", "act", spec=KEYPOINTS, **ENCODER), small_data)
    run_dir = tmp_path / "act_run"
    save_weights(run_dir / "model.safetensors", act.state_dict())
    ctm = make_ctm(small_data)
    with caplog.at_level(logging.INFO, logger="polibench.training.warm_start"):
        load_matching(ctm, run_dir)
    act_state, ctm_state = act.state_dict(), ctm.state_dict()
    encoder_keys = [k for k in act_state if k.startswith("encoder.")]
    assert encoder_keys and all(torch.equal(ctm_state[k], act_state[k]) for k in encoder_keys)
    fresh = make_ctm(small_data)
    assert not torch.equal(fresh.state_dict()["encoder.encoder.layers.0.linear1.weight"],
                           act_state["encoder.encoder.layers.0.linear1.weight"])
    log = caplog.text
    assert f"loaded {len(encoder_keys) + len([k for k in act_state if k.startswith('normalizer.')])} tensors" in log
    assert "are new" in log and "core.start_trace" in log and "decoder" in log  # ACT's decoder: unused
    direct = make_ctm(small_data)
    load_matching(direct, run_dir / "model.safetensors")  # a .safetensors path works too
    assert torch.equal(direct.state_dict()["encoder.latent_proj.weight"], act_state["encoder.latent_proj.weight"])


def test_trace_returns_every_tick_internals(small_data):
    policy = make_ctm(small_data, gating=registry.get("gating", "threshold"))
    obs = {k: torch.as_tensor(v)[:, None] for k, v in first_obs(small_data, n=2).items()}
    policy.core.halting.enabled = False
    trace = policy.trace(obs)
    t, d = SMALL["ticks"], SMALL["neurons"]
    n_tokens = 1 + len(KEYPOINTS.obs_shapes)  # latent + one token per vector entry
    expected = {"pre_activations": (2, t, d), "post_activations": (2, t, d), "sync_action": (2, t, 16),
                "sync_out": (2, t, 32), "attention": (2, t, 4, n_tokens), "gates": (2, t, 8), "certainty": (2, t),
                "log_variance": (2, t), "tick_actions": (2, t, 10, 2), "actions": (2, 10, 2), "halt_tick": (2,),
                "ticks_used": (2,)}
    assert {k: tuple(v.shape) for k, v in trace.items()} == expected
    torch.testing.assert_close(trace["attention"].sum(-1), torch.ones(2, t, 4))
    assert policy.training  # trace() restores the mode


def test_carried_state_persists_across_calls_and_reset_clears_it(small_data):
    policy = make_ctm(small_data, carry_state=True, temporal_ensemble_coeff=None)
    obs = first_obs(small_data)
    policy.reset()
    first = policy.select_action(obs)
    assert policy._carried is not None and policy._carried.trace.shape == (1, 64, 4)
    second = policy.select_action(obs)
    assert not np.allclose(first, second)  # same observation, different starting state
    policy.reset()
    assert policy._carried is None
    np.testing.assert_allclose(policy.select_action(obs), first, rtol=1e-5)
    stateless = make_ctm(small_data, temporal_ensemble_coeff=None)
    stateless.load_state_dict(policy.state_dict())
    stateless.reset()
    np.testing.assert_allclose(stateless.select_action(obs), stateless.select_action(obs), rtol=1e-5)


def test_training_steps_lower_the_loss_on_real_data(small_data):
    torch.manual_seed(0)
    policy = make_ctm(small_data, ticks=3)
    sampler = WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
    fixed = sampler.sample(128, torch.Generator().manual_seed(99))
    before = fixed_loss(policy, fixed, "ctm_tick")
    out = fit_steps(policy, sampler, 40)
    after = fixed_loss(policy, fixed, "ctm_tick")
    assert after < 0.7 * before, (before, after)
    assert set(out) == {"loss", "ctm_tick", "variance_nll", "tick_penalty", "kl"}


@pytest.mark.parametrize("synapse", ["unet", "mlp", "tick_sync"])
def test_gin_configs_build_and_share_act_encoder_shapes(synapse):
    parse([CONFIG_DIR / "act.gin"])
    act_shapes = {k: v.shape for k, v in Experiment().policy_factory(spec=KEYPOINTS).state_dict().items()
                  if k.startswith("encoder.")}
    parse([CONFIG_DIR / f"ctm_act_{synapse}.gin"])
    policy = Experiment().policy_factory(spec=KEYPOINTS)
    expected = {"unet": "UNetSynapse", "mlp": "MLPSynapse", "tick_sync": "TickSyncSynapse"}[synapse]
    assert type(policy.core.synapse).__name__ == expected
    ctm_shapes = {k: v.shape for k, v in policy.state_dict().items() if k.startswith("encoder.")}
    assert ctm_shapes == act_shapes
    assert policy.horizon == 20 and policy.max_ticks >= 2 and policy.curriculum_fraction > 0


def test_training_on_runs_of_windows_carries_the_state_from_window_to_window(small_data):
    with pytest.raises(ValueError, match="only with carry_state"):
        make_ctm(small_data, train_windows=3)
    torch.manual_seed(0)
    policy = make_ctm(small_data, carry_state=True, train_windows=3, n_action_steps=4, temporal_ensemble_coeff=None)
    sampler = WindowSampler(small_data, policy.obs_offsets, policy.action_offsets)
    batch = policy.sample_batch(sampler, 12, torch.Generator().manual_seed(0))
    expected = sampler.sample_sequences(4, 3, 4, torch.Generator().manual_seed(0))
    assert torch.equal(batch["action"], expected["action"])  # 4 runs of 3 windows, 4 frames apart
    with pytest.raises(ValueError, match="not a multiple"):
        policy.sample_batch(sampler, 10, torch.Generator())
    policy.eval()
    with torch.no_grad():
        carried = policy(policy.normalize_batch(batch))["tick_actions"]
        policy.train_windows = 1  # the same windows, each from the start state
        alone = policy(policy.normalize_batch(batch))["tick_actions"]
        policy.train_windows = 3
    first = torch.arange(12) % 3 == 0
    torch.testing.assert_close(carried[first], alone[first])  # a run's first window starts from the start state
    assert not torch.allclose(carried[~first], alone[~first])  # later ones from the state the run left
    before = fixed_loss(policy, batch, "ctm_tick")
    fit_steps(policy, sampler, 30, batch_size=12)  # through policy.compute_loss on sample_batch's runs
    assert fixed_loss(policy, batch, "ctm_tick") < before
