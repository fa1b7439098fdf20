"""A plain MLP behaviour-cloning policy with action chunks: the floor every learned policy should clear."""

from __future__ import annotations

from typing import ClassVar, Sequence

import torch
from torch import nn

from polibench.policy import FeatureSpec, LossTerm, Policy
from polibench.registry import register
from polibench.slots import ComponentSlot


@register("policy", "mlp_chunk")
class MLPChunkPolicy(Policy):
    """MLP from the flattened (normalised) observation history to a whole action chunk; L1 loss.

    The protocol's reference floor (../shared/docs/protocol.md): 16 actions predicted, 8 executed.
    """

    SLOTS: ClassVar[dict[str, ComponentSlot]] = {
        "losses": ComponentSlot("loss", ("l1_chunk",), call=True, form="list"),
    }

    def __init__(
        self,
        spec: FeatureSpec,
        horizon: int = 16,
        n_action_steps: int = 8,
        n_obs_steps: int = 1,
        hidden: int = 512,
        layers: int = 3,
        losses: Sequence[LossTerm] | None = None,
    ) -> None:
        if spec.image_keys:
            raise ValueError("mlp_chunk takes vector observations only (use the keypoints track)")
        super().__init__(spec, n_obs_steps=n_obs_steps, horizon=horizon, n_action_steps=n_action_steps,
                         losses=self.SLOTS["losses"].build(losses))
        in_dim = n_obs_steps * sum(spec.obs_shapes[k][0] for k in spec.vector_keys)
        blocks: list[nn.Module] = []
        for i in range(layers):
            blocks += [nn.Linear(in_dim if i == 0 else hidden, hidden), nn.GELU()]
        self.net = nn.Sequential(*blocks, nn.Linear(hidden, horizon * spec.action_dim))

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = torch.cat([batch[k].flatten(1) for k in self.spec.vector_keys], dim=-1)
        return {"actions": self.net(x).view(x.shape[0], self.horizon, self.spec.action_dim)}

    def predict(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self(obs)["actions"]
