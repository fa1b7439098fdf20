"""Image entry -> one token per backbone feature-map cell."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from polibench import registry
from polibench.nn.positional import sinusoidal_2d
from polibench.registry import register


@register("encoder", "image_tokens")
class ImageTokens(nn.Module):
    """Backbone feature map, 1x1-projected to ``dim``, flattened to tokens with 2D sinusoidal positions (as ACT)."""

    def __init__(self, shape: tuple[int, ...], dim: int, backbone: Callable[[], nn.Module] | None = None) -> None:
        super().__init__()
        self.backbone = (backbone or registry.get("backbone", "timm"))()
        self.proj = nn.Conv2d(self.backbone.out_channels, dim, kernel_size=1)
        height, width, _ = shape
        with torch.no_grad():
            h, w = self.backbone(torch.zeros(1, 3, height, width)).shape[-2:]
        self.register_buffer("pos", sinusoidal_2d(h, w, dim), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """[B, n_obs, 3, H, W] -> [B, n_obs * h * w, dim]."""
        b, n = images.shape[:2]
        feats = self.proj(self.backbone(images.flatten(0, 1)))  # [B*n, dim, h, w]
        tokens = feats.flatten(2).transpose(1, 2) + self.pos
        return tokens.reshape(b, n * tokens.shape[1], tokens.shape[2])
