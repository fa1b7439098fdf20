"""Real optimiser steps on real batches, shared by the "a few training steps lower the loss" tests."""

from __future__ import annotations

import torch

from polibench.data.windows import WindowSampler
from polibench.policy import Policy


def fit_steps(policy: Policy, sampler: WindowSampler, steps: int, lr: float = 1e-3, batch_size: int = 64,
              seed: int = 0) -> dict[str, torch.Tensor]:
    """AdamW steps as the trainer takes them (progress hook included); returns the last step's loss terms."""
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=lr)
    policy.train()
    for step in range(steps):
        policy.set_training_progress(step, steps)
        out = policy.compute_loss(policy.sample_batch(sampler, batch_size, gen))
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
    return out


@torch.no_grad()
def fixed_loss(policy: Policy, batch: dict[str, torch.Tensor], term: str = "loss") -> float:
    """Loss term on a fixed batch in eval mode, with the RNG pinned (diffusion timesteps and noise repeat)."""
    was_training = policy.training
    policy.eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)
        value = policy.compute_loss(batch)[term].item()
    policy.train(was_training)
    return value
