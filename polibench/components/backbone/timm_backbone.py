"""Image backbones from timm."""

from __future__ import annotations

import timm
import torch
from torch import nn

from polibench.registry import register


@register("backbone", "timm")
class TimmBackbone(nn.Module):
    """Any timm model's last feature map; input in [0, 1], normalised here with the model's own mean/std.

    ``pretrained=True`` needs the weights in the local Hugging Face cache (no hub access on the CPU track).
    """

    def __init__(self, model_name: str = "resnet18", pretrained: bool = False) -> None:
        super().__init__()
        self.model = timm.create_model(model_name, pretrained=pretrained, features_only=True, out_indices=(-1,))
        self.out_channels = self.model.feature_info.channels()[-1]
        cfg = self.model.pretrained_cfg
        self.register_buffer("mean", torch.tensor(cfg.get("mean", (0.485, 0.456, 0.406))).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(cfg.get("std", (0.229, 0.224, 0.225))).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] in [0, 1] -> [N, C, h, w]."""
        return self.model((images - self.mean) / self.std)[-1]
