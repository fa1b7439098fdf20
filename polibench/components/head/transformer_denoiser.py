"""A transformer alternative to the U-Net denoiser (the paper's DP-Transformer, simplified to one encoder stack).

Swappable with ``head.unet1d`` by one gin binding (``policy.diffusion.denoiser = @head.transformer_denoiser``): it
has the same constructor arguments from the policy and the same call signature.
"""

from __future__ import annotations

import torch
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from torch import nn

from polibench.nn.positional import sinusoidal_1d
from polibench.registry import register


@register("head", "transformer_denoiser")
class TransformerDenoiser(nn.Module):
    """(noisy actions [B,H,A], timesteps [B], cond [B,cond_dim]) -> [B,H,A].

    The sequence is [step token, condition token, H action tokens] with bidirectional pre-norm self-attention;
    the outputs at the action tokens are projected back to actions. The paper's DP-Transformer instead decodes
    the actions causally with cross-attention to the observation tokens; one joint stack is simpler and fits the
    single global condition this policy builds.
    """

    def __init__(
        self,
        action_dim: int,
        cond_dim: int,
        dim: int = 256,
        heads: int = 4,
        layers: int = 8,
        ff_dim: int = 1024,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.action_in = nn.Linear(action_dim, dim)
        self.cond_in = nn.Linear(cond_dim, dim)
        self.step_in = nn.Sequential(Timesteps(dim, flip_sin_to_cos=False, downscale_freq_shift=1),
                                     TimestepEmbedding(dim, 4 * dim, act_fn="mish", out_dim=dim))
        layer = nn.TransformerEncoderLayer(dim, heads, ff_dim, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.action_out = nn.Linear(dim, action_dim)

    def forward(self, noisy_actions: torch.Tensor, timesteps: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        horizon, dim = noisy_actions.shape[1], self.action_in.out_features
        positions = sinusoidal_1d(horizon, dim).to(noisy_actions.device)
        tokens = torch.cat([self.step_in(timesteps).unsqueeze(1), self.cond_in(cond).unsqueeze(1),
                            self.action_in(noisy_actions) + positions], dim=1)
        hidden = self.encoder(tokens)[:, 2:]
        return self.action_out(self.norm(hidden))
