"""Diffusion Policy's denoiser: a 1D temporal U-Net over the action horizon, FiLM-conditioned (Chi et al., 2023).

Convolving over time (not over action dimensions) lets the network smooth the chunk; FiLM injects the observation
and the diffusion step into every residual block, which the paper found more stable than input concatenation.
The building blocks (Conv1d-GroupNorm-Mish, strided down/transposed up convolutions, sinusoidal step embedding) are
diffusers'; the FiLM residual block and the U-Net wiring are here.
"""

from __future__ import annotations

from typing import Sequence

import torch
from diffusers.models.downsampling import Downsample1D
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.resnet import Conv1dBlock
from diffusers.models.upsampling import Upsample1D
from torch import nn

from polibench.registry import register


class FiLMResidualBlock(nn.Module):
    """Two Conv1d-GroupNorm-Mish blocks; the condition predicts a per-channel scale and bias between them."""

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, kernel_size: int, n_groups: int) -> None:
        super().__init__()
        self.conv_in = Conv1dBlock(in_channels, out_channels, kernel_size, n_groups)
        self.conv_out = Conv1dBlock(out_channels, out_channels, kernel_size, n_groups)
        self.film = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * out_channels))
        self.residual = nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x [B, C_in, T], cond [B, cond_dim] -> [B, C_out, T]."""
        scale, bias = self.film(cond).unsqueeze(-1).chunk(2, dim=1)
        return self.conv_out(scale * self.conv_in(x) + bias) + self.residual(x)


@register("head", "unet1d")
class ConditionalUnet1D(nn.Module):
    """Noise-prediction U-Net: (noisy actions [B,H,A], timesteps [B], cond [B,cond_dim]) -> [B,H,A].

    Each level of ``down_dims`` has two FiLM residual blocks; every level but the deepest halves the horizon, so
    the horizon must be divisible by ``2 ** (len(down_dims) - 1)``. The paper's sizes are ``(512, 1024, 2048)``
    with kernel 5, 8 groups and a 128-wide step embedding (gin/diffusion_paper.gin); the CPU track uses less.
    """

    def __init__(
        self,
        action_dim: int,
        cond_dim: int,
        down_dims: Sequence[int] = (512, 1024, 2048),
        kernel_size: int = 5,
        n_groups: int = 8,
        step_embed_dim: int = 128,
    ) -> None:
        super().__init__()
        # sin/cos halves with frequencies exp(-ln(1e4) * i / (half - 1)), then Linear-Mish-Linear, as the paper.
        self.step_encoder = nn.Sequential(
            Timesteps(step_embed_dim, flip_sin_to_cos=False, downscale_freq_shift=1),
            TimestepEmbedding(step_embed_dim, 4 * step_embed_dim, act_fn="mish", out_dim=step_embed_dim),
        )
        film_dim = step_embed_dim + cond_dim
        block = lambda c_in, c_out: FiLMResidualBlock(c_in, c_out, film_dim, kernel_size, n_groups)  # noqa: E731
        dims = [action_dim, *down_dims]
        levels = list(zip(dims[:-1], dims[1:]))
        self.down = nn.ModuleList(
            nn.ModuleList([block(c_in, c_out), block(c_out, c_out),
                           Downsample1D(c_out, use_conv=True) if i < len(levels) - 1 else nn.Identity()])
            for i, (c_in, c_out) in enumerate(levels)
        )
        self.mid = nn.ModuleList([block(down_dims[-1], down_dims[-1]), block(down_dims[-1], down_dims[-1])])
        self.up = nn.ModuleList(
            nn.ModuleList([block(2 * c_out, c_in), block(c_in, c_in), Upsample1D(c_in, use_conv_transpose=True)])
            for c_in, c_out in reversed(levels[1:])
        )
        self.out = nn.Sequential(Conv1dBlock(down_dims[0], down_dims[0], kernel_size, n_groups),
                                 nn.Conv1d(down_dims[0], action_dim, 1))
        self.horizon_multiple = 2 ** (len(down_dims) - 1)

    def forward(self, noisy_actions: torch.Tensor, timesteps: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if noisy_actions.shape[1] % self.horizon_multiple:
            raise ValueError(f"horizon {noisy_actions.shape[1]} must be divisible by {self.horizon_multiple} "
                             "(the U-Net halves it at every level but the deepest)")
        film = torch.cat([self.step_encoder(timesteps), cond], dim=-1)
        x = noisy_actions.transpose(1, 2)  # convolve over time: [B, A, H]
        skips = []
        for block_a, block_b, downsample in self.down:
            x = block_b(block_a(x, film), film)
            skips.append(x)
            x = downsample(x)
        for block in self.mid:
            x = block(x, film)
        # Each up level joins the down output of its own resolution; the shallowest one has no up level (as in
        # the paper's network), so the output convolution reads the last upsampled features.
        for (block_a, block_b, upsample), skip in zip(self.up, reversed(skips[1:])):
            x = upsample(block_b(block_a(torch.cat([x, skip], dim=1), film), film))
        return self.out(x).transpose(1, 2)
