"""Diffusion Policy's denoising loss: MSE between the denoiser's output and its target."""

from __future__ import annotations

import torch

from polibench.components.loss.l1_chunk import masked_chunk_loss
from polibench.policy import LossTerm
from polibench.registry import register


@register("loss", "diffusion_mse")
class DiffusionMSE(LossTerm):
    """MSE of ``outputs["pred"]`` against ``outputs["target"]`` (the noise, or the clean chunk).

    Steps outside the episode (``action_is_pad``) hold clamped copies of its first or last action, not
    demonstrated ones, so by default they are left out. ``mask_padding = False`` trains on them as the original
    repository and LeRobot's default do (their copies of the last action teach the chunk to come to rest at an
    episode's end); gin/diffusion.gin binds it, having measured smoother rollouts with it at equal success.
    """

    name = "diffusion_mse"

    def __init__(self, weight: float = 1.0, mask_padding: bool = True) -> None:
        super().__init__(weight)
        self.mask_padding = mask_padding

    def __call__(self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        error = (outputs["pred"] - outputs["target"]).pow(2)
        return masked_chunk_loss(error, batch["action_is_pad"]) if self.mask_padding else error.mean()
