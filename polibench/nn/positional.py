"""Fixed sinusoidal position embeddings (1D for sequences, 2D for feature maps)."""

from __future__ import annotations

import math

import torch


def sinusoidal_1d(length: int, dim: int) -> torch.Tensor:
    """[length, dim] table of the Transformer's sin/cos embeddings."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return table


def sinusoidal_2d(height: int, width: int, dim: int) -> torch.Tensor:
    """[height * width, dim]: half the channels encode the row, half the column (DETR-style)."""
    half = dim // 2
    rows = sinusoidal_1d(height, half)[:, None, :].expand(height, width, half)
    cols = sinusoidal_1d(width, dim - half)[None, :, :].expand(height, width, dim - half)
    return torch.cat([rows, cols], dim=-1).reshape(height * width, dim)
