"""DDIM sampler (diffusers): the same training noise schedule as DDPM, sampled deterministically in few steps."""

from __future__ import annotations

from diffusers import DDIMScheduler

from polibench.registry import register


@register("noise_scheduler", "ddim")
def ddim(
    num_train_timesteps: int = 100,
    beta_schedule: str = "squaredcos_cap_v2",
    prediction_type: str = "epsilon",
    clip_sample: bool = True,
    clip_sample_range: float = 1.0,
) -> DDIMScheduler:
    """A fresh diffusers DDIMScheduler; a DDPM-trained policy samples with it unchanged (same betas, same target).

    Use it with few inference steps (``policy.diffusion.num_inference_steps = 10``, as the paper's real-robot runs).
    """
    return DDIMScheduler(num_train_timesteps=num_train_timesteps, beta_schedule=beta_schedule,
                         prediction_type=prediction_type, clip_sample=clip_sample,
                         clip_sample_range=clip_sample_range)
