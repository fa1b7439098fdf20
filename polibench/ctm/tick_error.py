"""The realised error of every tick's action chunk: what the tick loss picks its best tick by, what error-predicting
halting rules learn, and what halting calibration measures."""

from __future__ import annotations

import torch


def per_tick_error(tick_actions: torch.Tensor, action: torch.Tensor, is_pad: torch.Tensor,
                   power: int = 1) -> torch.Tensor:
    """Masked mean |error|^power of every tick's chunk, per sample: [B, T, H, A] vs [B, H, A] -> [B, T]."""
    error = (tick_actions - action.unsqueeze(1)).abs().pow(power)
    keep = (~is_pad).float()[:, None, :, None]
    return (error * keep).sum((-1, -2)) / (keep.sum((-1, -2)) * error.shape[-1]).clamp_min(1.0)
