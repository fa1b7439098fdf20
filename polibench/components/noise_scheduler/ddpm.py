"""DDPM noise schedule and ancestral sampler (diffusers), with Diffusion Policy's defaults."""

from __future__ import annotations

from diffusers import DDPMScheduler

from polibench.registry import register


@register("noise_scheduler", "ddpm")
def ddpm(
    num_train_timesteps: int = 100,
    beta_schedule: str = "squaredcos_cap_v2",
    prediction_type: str = "epsilon",
    clip_sample: bool = True,
    clip_sample_range: float = 1.0,
) -> DDPMScheduler:
    """A fresh diffusers DDPMScheduler; clipping the predicted clean sample keeps it in the normalised [-1, 1]."""
    return DDPMScheduler(num_train_timesteps=num_train_timesteps, beta_schedule=beta_schedule,
                         prediction_type=prediction_type, clip_sample=clip_sample,
                         clip_sample_range=clip_sample_range)
