"""LeRobot's ACT (lerobot.policies.act, LeRobot 0.4.4) behind our Policy interface, for like-for-like comparison."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from polibench.interop.lerobot import LeRobotPolicy, require_lerobot
from polibench.policy import FeatureSpec
from polibench.registry import register


@register("policy", "lerobot_act")
class LeRobotACT(LeRobotPolicy):
    """LeRobot 0.4.4's ACTPolicy trained with its own loss, on our data, normaliser and action execution.

    The keyword arguments are LeRobot ``ACTConfig`` fields (same names). Normalisation: min-max to [-1, 1] for
    STATE (agent_pos), ENV (the keypoints) and ACTION; LeRobot's default mapping has no ENV entry and would
    feed the keypoints raw, so ours maps it explicitly (see polibench.interop.lerobot.normalization_mapping).
    ``temporal_ensemble_coeff`` is applied by our Policy base (same weights as LeRobot's ensembler). LeRobot's
    ACT sees one observation step. ``pretrained_backbone_weights`` defaults to None (no downloads; LeRobot's
    default is torchvision's ImageNet ResNet18).
    Needs the LeRobot extra: ``pip install -e ".[lerobot]" && pip install --no-deps lerobot==0.4.4``.
    """

    def __init__(
        self,
        spec: FeatureSpec,
        chunk_size: int = 100,
        n_action_steps: int = 100,
        temporal_ensemble_coeff: float | None = None,
        dim_model: int = 512,
        n_heads: int = 8,
        dim_feedforward: int = 3200,
        feedforward_activation: str = "relu",
        n_encoder_layers: int = 4,
        n_decoder_layers: int = 1,
        pre_norm: bool = False,
        use_vae: bool = True,
        latent_dim: int = 32,
        n_vae_encoder_layers: int = 4,
        dropout: float = 0.1,
        kl_weight: float = 10.0,
        vision_backbone: str = "resnet18",
        pretrained_backbone_weights: str | None = None,
        replace_final_stride_with_dilation: bool = False,
    ) -> None:
        modeling = require_lerobot("lerobot.policies.act.modeling_act")
        configuration = require_lerobot("lerobot.policies.act.configuration_act")
        super().__init__(spec, n_obs_steps=1, horizon=chunk_size, n_action_steps=n_action_steps,
                         temporal_ensemble_coeff=temporal_ensemble_coeff)
        config = configuration.ACTConfig(
            n_obs_steps=1, chunk_size=chunk_size, n_action_steps=n_action_steps, dim_model=dim_model,
            n_heads=n_heads, dim_feedforward=dim_feedforward, feedforward_activation=feedforward_activation,
            n_encoder_layers=n_encoder_layers, n_decoder_layers=n_decoder_layers, pre_norm=pre_norm,
            use_vae=use_vae, latent_dim=latent_dim, n_vae_encoder_layers=n_vae_encoder_layers, dropout=dropout,
            kl_weight=kl_weight, vision_backbone=vision_backbone,
            pretrained_backbone_weights=pretrained_backbone_weights,
            replace_final_stride_with_dilation=replace_final_stride_with_dilation,
            **self.lerobot_config_kwargs(),
        )
        self.model = modeling.ACTPolicy(config)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """LeRobot's loss (L1 + kl_weight * KL). In eval mode (validation loss) LeRobot's ACT skips the CVAE and
        its ``forward`` fails on the missing posterior, so there the prior's chunk is scored with its L1 alone."""
        lerobot_batch = self.to_lerobot(batch, keep_time=False)
        if self.training or not self.model.config.use_vae:
            loss, _ = self.model(lerobot_batch)
            return {"loss": loss}
        actions = self.model.predict_action_chunk(lerobot_batch)
        error = F.l1_loss(actions, lerobot_batch["action"], reduction="none")
        return {"loss": (error * ~lerobot_batch["action_is_pad"].unsqueeze(-1)).mean()}

    def predict(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model.predict_action_chunk(self.to_lerobot(obs, keep_time=False))
