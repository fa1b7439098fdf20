"""Min-max normalisation to [-1, 1], stored as module buffers so the checkpoint carries its own stats."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from polibench.data.episodes import EpisodeData

_EPS = 1e-6


def minmax_stats(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Per-feature min and max over the leading (time) axis of each array."""
    return {
        key: {"min": arr.min(axis=0).astype(np.float32), "max": arr.max(axis=0).astype(np.float32)}
        for key, arr in arrays.items()
    }


def data_stats(data: EpisodeData, vector_keys: Iterable[str]) -> dict[str, dict[str, np.ndarray]]:
    """What a policy's normaliser is set from: :func:`minmax_stats` of the observation entries ``vector_keys`` (a
    feature spec's) and of the actions of ``data``; training and every tool that builds a policy outside it use it."""
    return minmax_stats({k: data.obs[k] for k in vector_keys} | {"action": data.action})


class MinMaxNormalizer(nn.Module):
    """Maps each named vector feature from [min, max] to [-1, 1] and back.

    Images are not min-max normalised (their encoder scales uint8 to [0, 1]); only vector features have stats.
    """

    def __init__(self, shapes: dict[str, tuple[int, ...]]) -> None:
        super().__init__()
        self.keys = sorted(shapes)
        for key in self.keys:
            self.register_buffer(f"{key}_min", torch.zeros(shapes[key]))
            self.register_buffer(f"{key}_max", torch.ones(shapes[key]))

    def set_stats(self, stats: dict[str, dict[str, np.ndarray]]) -> None:
        for key in self.keys:
            getattr(self, f"{key}_min").copy_(torch.as_tensor(stats[key]["min"]))
            getattr(self, f"{key}_max").copy_(torch.as_tensor(stats[key]["max"]))

    def _range(self, key: str) -> tuple[torch.Tensor, torch.Tensor]:
        lo, hi = getattr(self, f"{key}_min"), getattr(self, f"{key}_max")
        return lo, (hi - lo).clamp_min(_EPS)

    def normalize(self, key: str, x: torch.Tensor) -> torch.Tensor:
        lo, span = self._range(key)
        return (x - lo) / span * 2.0 - 1.0

    def unnormalize(self, key: str, x: torch.Tensor) -> torch.Tensor:
        lo, span = self._range(key)
        return (x + 1.0) / 2.0 * span + lo
