"""Diffusion Policy's denoising loss: MSE between the denoiser's output and its target."""

from __future__ import annotations

import torch

from components.loss.l1_chunk import masked_chunk_loss
from polibench.policy import LossTerm
from polibench.registry import register


@register("loss", "diffusion_mse")
class DiffusionMSE(LossTerm):
    """Masked MSE of ``outputs["pred"]`` against ``outputs["target"]`` (the noise, or the clean chunk).

    Steps outside the episode (``action_is_pad``) hold clamped copies of its first or last action, not
    demonstrated ones, so they are left out (the original repository and LeRobot's default train on them).
    """

    name = "diffusion_mse"

    def __call__(self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return masked_chunk_loss((outputs["pred"] - outputs["target"]).pow(2), batch["action_is_pad"])
