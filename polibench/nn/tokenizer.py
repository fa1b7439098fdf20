"""Observation tokenizer: one registered encoder per observation entry, tokens concatenated.

ACT and CTM-ACT share it, so swapping an encoder is a gin binding, not a code change.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from polibench import registry
from polibench.policy import FeatureSpec

EncoderFactory = Callable[..., nn.Module]


class ObservationTokenizer(nn.Module):
    """Encodes every observation entry into tokens [B, n_tokens, dim].

    Args:
        spec: observation shapes.
        dim: token width.
        encoders: entry name -> encoder factory (called with ``shape`` and ``dim``). Entries not named get
            ``encoder.state_token`` for vectors and ``encoder.image_tokens`` for images.
    """

    def __init__(self, spec: FeatureSpec, dim: int, encoders: dict[str, EncoderFactory] | None = None) -> None:
        super().__init__()
        encoders = dict(encoders or {})
        unknown = set(encoders) - set(spec.obs_shapes)
        if unknown:
            raise ValueError(f"encoders given for {sorted(unknown)}, which the data does not have: {sorted(spec.obs_shapes)}")
        self.keys = sorted(spec.obs_shapes)
        modules = {}
        for key in self.keys:
            shape = spec.obs_shapes[key]
            default = "state_token" if len(shape) == 1 else "image_tokens"
            factory = encoders.get(key) or registry.get("encoder", default)
            modules[key] = factory(shape=shape, dim=dim)
        self.encoders = nn.ModuleDict(modules)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """obs entries [B, n_obs, ...] (normalised) -> tokens [B, n_tokens, dim]."""
        return torch.cat([self.encoders[key](obs[key]) for key in self.keys], dim=1)
