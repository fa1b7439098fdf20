"""Speed benchmarks (pytest-benchmark): per-call inference latency at batch 1, training-step throughput, and
evaluation throughput against the bare gym-pusht step rate, measured in one session so ratios are comparable.

Run: ``python -m pytest benchmarks --benchmark-json=studies/ctm_act_pusht/results/speed_cpu.json`` then
``python benchmarks/ratios.py studies/ctm_act_pusht/results/speed_cpu.json`` for the ratios against ACT and LeRobot.
Training steps run in fp32 and under bf16 autocast (``polibench.TrainConfig.precision``), each precision its own
group. On a GPU machine set
``POLIBENCH_BENCH_DEVICE=cuda``: every timed call then ends with the chunk or loss back on the host, so GPU work is
waited for. LeRobot's policies (training step only) need the ``lerobot`` extra and are skipped without it.
Weights are untrained: latency does not depend on them, except CTM-ACT with halting, whose ticks used on a
trained model are recorded by every evaluation (``ticks_per_call``).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from polibench.data.windows import WindowSampler
from polibench.evaluation.env import make_env
from polibench.evaluation.rollout import evaluate
from polibench.precision import autocast

#: name -> (gin file, bindings). ACT with temporal ensembling calls the model every step; the others per chunk.
INFERENCE = {
    "act_chunk8": ("act.gin", []),
    "act_ensembled": ("act.gin", ["policy.act.temporal_ensemble_coeff = 0.01", "policy.act.n_action_steps = 1"]),
    "diffusion_ddpm100": ("diffusion.gin", []),
    "diffusion_ddim10": ("diffusion_ddim.gin", []),
    "ctm_act_unet_fixed_T": ("ctm_act_unet.gin", ["halting.variance.enabled = False"]),
    "ctm_act_mlp_fixed_T": ("ctm_act_mlp.gin", ["halting.variance.enabled = False"]),
    "ctm_act_tick_sync_fixed_T": ("ctm_act_tick_sync.gin", ["halting.variance.enabled = False"]),
}
TRAINING = {"act": "act.gin", "diffusion": "diffusion.gin", "ctm_act_unet": "ctm_act_unet.gin",
            "ctm_act_mlp": "ctm_act_mlp.gin", "ctm_act_tick_sync": "ctm_act_tick_sync.gin",
            "lerobot_act": "lerobot_act.gin", "lerobot_diffusion": "lerobot_diffusion.gin"}
#: training-step groups by autocast precision (polibench.precision): each group's ratios divide by its own ACT row
TRAINING_GROUPS = {"fp32": "training", "bf16": "training_bf16"}
HAS_LEROBOT = importlib.util.find_spec("lerobot") is not None


@pytest.mark.parametrize("name", sorted(INFERENCE))
def test_model_call_latency_batch1(benchmark, make_policy, data, device, name):
    gin_file, params = INFERENCE[name]
    policy = make_policy(gin_file, params)
    obs = {k: torch.as_tensor(v[:1], device=device)[:, None].expand(1, policy.n_obs_steps, *v.shape[1:])
           for k, v in data.obs.items()}
    benchmark.extra_info.update(group="inference", calls_per_step=1 / policy.n_action_steps, device=str(device),
                                ticks=getattr(policy, "max_ticks", None))
    chunk = benchmark(lambda: policy.predict_chunk(obs).cpu())
    assert chunk.shape == (1, policy.horizon, 2)


def _training_step(benchmark, make_policy, data, device, name: str, precision: str) -> None:
    if name.startswith("lerobot_") and not HAS_LEROBOT:
        pytest.skip('lerobot is not installed: pip install -e ".[lerobot]" && pip install --no-deps lerobot==0.4.4')
    policy = make_policy(TRAINING[name]).train()
    sampler = WindowSampler(data, policy.obs_offsets, policy.action_offsets)
    gen = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-4)
    policy.set_training_progress(10**9, 10**9)  # past any tick curriculum: the full-size step

    def step() -> float:
        batch = {k: v.to(device) for k, v in sampler.sample(64, gen).items()}
        with autocast(device, precision):  # as polibench.training.Trainer: forward and loss only
            loss = policy.compute_loss(batch)["loss"].float()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    benchmark.extra_info.update(group=TRAINING_GROUPS[precision], device=str(device), precision=precision,
                                ticks=getattr(policy, "max_ticks", None))
    assert np.isfinite(benchmark.pedantic(step, rounds=10, warmup_rounds=2))


@pytest.mark.parametrize("name", sorted(TRAINING))
def test_training_step_batch64(benchmark, make_policy, data, device, name):
    _training_step(benchmark, make_policy, data, device, name, "fp32")


@pytest.mark.parametrize("name", sorted(TRAINING))
def test_training_step_batch64_bf16(benchmark, make_policy, data, device, name):
    _training_step(benchmark, make_policy, data, device, name, "bf16")


def test_bare_env_steps(benchmark):
    env = make_env("keypoints")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(50, 450, size=(1000, 2))
    state = {"i": 0}

    def step() -> None:
        _, _, terminated, truncated, _ = env.step(actions[state["i"] % 1000])
        state["i"] += 1
        if terminated or truncated:
            env.reset(seed=state["i"])

    benchmark.extra_info["group"] = "environment"
    benchmark(step)


def test_evaluation_episode_with_act(benchmark, make_policy):
    policy = make_policy("act.gin")
    benchmark.extra_info.update(group="environment", env_steps=100)
    result = benchmark.pedantic(lambda: evaluate(policy, "keypoints", [100000], max_steps=100, progress=False),
                                rounds=3, warmup_rounds=1)
    assert result.per_episode[0]["n_steps"] == 100
