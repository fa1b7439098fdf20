"""ACT's observation side: per-entry tokens, the CVAE style latent, and the transformer encoder.

Shared by ACT and CTM-ACT (whose CTM core replaces ACT's decoder), so ``init_from`` an ACT run can load it whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from polibench.nn.positional import sinusoidal_1d
from polibench.nn.tokenizer import ObservationTokenizer
from polibench.policy import FeatureSpec
from polibench.slots import ComponentSlot

#: The component slots of every policy built on :class:`ACTEncoder`: an encoder per vector entry, and the backbone
#: of the encoder that image entries get by default.
ENCODER_SLOTS: dict[str, ComponentSlot] = {
    "encoders": ComponentSlot("encoder", "state_token", form="per_entry", serves="vector", unfit=("image_tokens",)),
    "encoder.image_tokens.backbone": ComponentSlot("backbone", "timm", serves="image"),
}


@dataclass(frozen=True)
class EncoderSettings:
    """ACT's encoder settings, as the policies built on it take them from gin (``dim``, ``heads``, ...).

    Args:
        layers: transformer encoder layers (the policies' ``encoder_layers``).
        vae_layers: layers of the CVAE's own encoder.
        use_vae: train with the CVAE latent (ACT); at inference the latent is zero (the prior's mean).
        encoders: entry name -> encoder factory; vector entries left out get ``ENCODER_SLOTS``' default.
    """

    dim: int
    heads: int
    ff_dim: int
    layers: int
    vae_layers: int
    latent_dim: int
    dropout: float
    use_vae: bool
    encoders: dict[str, Callable[..., nn.Module]] | None = None

    def __post_init__(self) -> None:
        if self.heads < 1 or self.dim % self.heads:  # attention splits dim evenly across the heads
            raise ValueError(f"dim = {self.dim} with heads = {self.heads}: dim must be a multiple of heads (each head "
                             f"attends over dim / heads features); set the policy's dim or heads so that it is")


def transformer_encoder(dim: int, heads: int, ff_dim: int, layers: int, dropout: float) -> nn.TransformerEncoder:
    """Post-norm ReLU encoder stack, as LeRobot's ACT."""
    layer = nn.TransformerEncoderLayer(dim, heads, ff_dim, dropout, activation="relu", batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class CVAEEncoder(nn.Module):
    """q(z | current state, demonstrated chunk): a transformer over [cls, state, actions] read at the cls token."""

    def __init__(self, state_dim: int, action_dim: int, horizon: int, settings: EncoderSettings) -> None:
        super().__init__()
        dim = settings.dim
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.state_proj = nn.Linear(state_dim, dim)
        self.action_proj = nn.Linear(action_dim, dim)
        self.register_buffer("pos", sinusoidal_1d(horizon + 2, dim), persistent=False)
        self.encoder = transformer_encoder(dim, settings.heads, settings.ff_dim, settings.vae_layers, settings.dropout)
        self.to_latent = nn.Linear(dim, 2 * settings.latent_dim)

    def forward(self, state: torch.Tensor, actions: torch.Tensor, action_is_pad: torch.Tensor):
        b = state.shape[0]
        tokens = torch.cat([self.cls.expand(b, -1, -1), self.state_proj(state)[:, None], self.action_proj(actions)], 1)
        pad = torch.cat([torch.zeros(b, 2, dtype=torch.bool, device=state.device), action_is_pad], dim=1)
        out = self.encoder(tokens + self.pos, src_key_padding_mask=pad)
        mu, logvar = self.to_latent(out[:, 0]).chunk(2, dim=-1)
        return mu, logvar


class ACTEncoder(nn.Module):
    """Observation tokens + latent token -> encoder memory [B, L, dim] (and the CVAE posterior when training)."""

    def __init__(self, spec: FeatureSpec, horizon: int, settings: EncoderSettings) -> None:
        super().__init__()
        s = settings
        self.vector_keys = spec.vector_keys
        self.latent_dim = s.latent_dim
        encoders = ENCODER_SLOTS["encoders"].build(s.encoders, spec.vector_keys)
        self.tokenizer = ObservationTokenizer(spec, s.dim, encoders)
        self.latent_proj = nn.Linear(s.latent_dim, s.dim)
        self.latent_slot = nn.Parameter(torch.zeros(1, 1, s.dim))
        self.encoder = transformer_encoder(s.dim, s.heads, s.ff_dim, s.layers, s.dropout)
        state_dim = sum(spec.obs_shapes[k][0] for k in self.vector_keys)
        self.vae = CVAEEncoder(state_dim, spec.action_dim, horizon, s) if s.use_vae else None

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Normalised batch -> (memory [B, L, dim], extras with ``mu``/``logvar`` when the CVAE ran)."""
        obs_tokens = self.tokenizer(batch)
        b = obs_tokens.shape[0]
        extras: dict[str, torch.Tensor] = {}
        if self.vae is not None and self.training and "action" in batch:
            state = torch.cat([batch[k][:, -1] for k in self.vector_keys], dim=-1)
            mu, logvar = self.vae(state, batch["action"], batch["action_is_pad"])
            latent = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
            extras = {"mu": mu, "logvar": logvar}
        else:
            latent = obs_tokens.new_zeros(b, self.latent_dim)
        latent_token = self.latent_proj(latent)[:, None] + self.latent_slot
        return self.encoder(torch.cat([latent_token, obs_tokens], dim=1)), extras
