"""ACT: Action Chunking with Transformers (Zhao et al., 2023), assembled from registered parts."""

from __future__ import annotations

from typing import Callable, ClassVar, Sequence

import torch
from torch import nn

from polibench.nn.act_encoder import ENCODER_SLOTS, ACTEncoder, EncoderSettings
from polibench.policy import FeatureSpec, LossTerm, Policy
from polibench.registry import register
from polibench.slots import ComponentSlot


@register("policy", "act")
class ACTPolicy(Policy):
    """ACT: transformer encoder over observation tokens, decoder queries -> action chunk, CVAE latent, L1 + KL.

    Defaults follow LeRobot's ACT except the sizes, which gin files set per track (see gin/act.gin).
    ``n_obs_steps > 1`` gives the encoder one token per entry and history step (LeRobot's ACT sees one step).
    """

    SLOTS: ClassVar[dict[str, ComponentSlot]] = {
        **ENCODER_SLOTS, "losses": ComponentSlot("loss", ("l1_chunk", "kl"), call=True, form="list"),
    }

    def __init__(
        self,
        spec: FeatureSpec,
        horizon: int = 100,
        n_action_steps: int = 1,
        n_obs_steps: int = 1,
        temporal_ensemble_coeff: float | None = 0.01,
        dim: int = 512,
        heads: int = 8,
        ff_dim: int = 3200,
        encoder_layers: int = 4,
        decoder_layers: int = 1,
        vae_layers: int = 4,
        latent_dim: int = 32,
        dropout: float = 0.1,
        use_vae: bool = True,
        encoders: dict[str, Callable[..., nn.Module]] | None = None,
        losses: Sequence[LossTerm] | None = None,
    ) -> None:
        super().__init__(spec, n_obs_steps=n_obs_steps, horizon=horizon, n_action_steps=n_action_steps,
                         temporal_ensemble_coeff=temporal_ensemble_coeff, losses=self.SLOTS["losses"].build(losses))
        self.encoder = ACTEncoder(spec, horizon, EncoderSettings(
            dim=dim, heads=heads, ff_dim=ff_dim, layers=encoder_layers, vae_layers=vae_layers, latent_dim=latent_dim,
            dropout=dropout, use_vae=use_vae, encoders=encoders))
        layer = nn.TransformerDecoderLayer(dim, heads, ff_dim, dropout, activation="relu", batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, decoder_layers)
        self.queries = nn.Parameter(torch.zeros(1, horizon, dim))
        nn.init.normal_(self.queries, std=0.02)
        self.action_head = nn.Linear(dim, spec.action_dim)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        memory, extras = self.encoder(batch)
        hidden = self.decoder(self.queries.expand(memory.shape[0], -1, -1), memory)
        return {"actions": self.action_head(hidden), **extras}

    def predict(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self(obs)["actions"]
