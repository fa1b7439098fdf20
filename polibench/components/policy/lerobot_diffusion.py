"""LeRobot's Diffusion Policy (lerobot.policies.diffusion, LeRobot 0.4.4) behind our Policy interface."""

from __future__ import annotations

import torch

from polibench.interop.lerobot import LeRobotPolicy, require_lerobot
from polibench.policy import FeatureSpec
from polibench.registry import register


@register("policy", "lerobot_diffusion")
class LeRobotDiffusion(LeRobotPolicy):
    """LeRobot 0.4.4's DiffusionPolicy (its U-Net, scheduler and loss) on our data, normaliser and execution.

    The keyword arguments are LeRobot ``DiffusionConfig`` fields (same names). Normalisation: min-max to
    [-1, 1] for STATE (agent_pos), ENV (the keypoints) and ACTION; LeRobot's default mapping has no ENV entry
    and would feed the keypoints raw, so ours maps it explicitly (polibench.interop.lerobot). Executes
    ``n_action_steps`` actions from index ``n_obs_steps - 1`` of each sampled horizon, as LeRobot does.
    ``num_inference_steps`` can be lowered at load time like our diffusion policy's.
    Needs the LeRobot extra: ``pip install -e ".[lerobot]" && pip install --no-deps lerobot==0.4.4``.
    """

    def __init__(
        self,
        spec: FeatureSpec,
        n_obs_steps: int = 2,
        horizon: int = 16,
        n_action_steps: int = 8,
        down_dims: tuple[int, ...] = (512, 1024, 2048),
        kernel_size: int = 5,
        n_groups: int = 8,
        diffusion_step_embed_dim: int = 128,
        use_film_scale_modulation: bool = True,
        noise_scheduler_type: str = "DDPM",
        num_train_timesteps: int = 100,
        beta_schedule: str = "squaredcos_cap_v2",
        beta_start: float = 0.0001,
        beta_end: float = 0.02,
        prediction_type: str = "epsilon",
        clip_sample: bool = True,
        clip_sample_range: float = 1.0,
        num_inference_steps: int | None = None,
        do_mask_loss_for_padding: bool = False,
        vision_backbone: str = "resnet18",
        pretrained_backbone_weights: str | None = None,
        use_group_norm: bool = True,
        spatial_softmax_num_keypoints: int = 32,
        crop_shape: tuple[int, int] | None = None,
        crop_is_random: bool = True,
    ) -> None:
        modeling = require_lerobot("lerobot.policies.diffusion.modeling_diffusion")
        configuration = require_lerobot("lerobot.policies.diffusion.configuration_diffusion")
        super().__init__(spec, n_obs_steps=n_obs_steps, horizon=horizon, n_action_steps=n_action_steps,
                         action_start=n_obs_steps - 1)
        config = configuration.DiffusionConfig(
            n_obs_steps=n_obs_steps, horizon=horizon, n_action_steps=n_action_steps, down_dims=tuple(down_dims),
            kernel_size=kernel_size, n_groups=n_groups, diffusion_step_embed_dim=diffusion_step_embed_dim,
            use_film_scale_modulation=use_film_scale_modulation, noise_scheduler_type=noise_scheduler_type,
            num_train_timesteps=num_train_timesteps, beta_schedule=beta_schedule, beta_start=beta_start,
            beta_end=beta_end, prediction_type=prediction_type, clip_sample=clip_sample,
            clip_sample_range=clip_sample_range, num_inference_steps=num_inference_steps,
            do_mask_loss_for_padding=do_mask_loss_for_padding, vision_backbone=vision_backbone,
            pretrained_backbone_weights=pretrained_backbone_weights, use_group_norm=use_group_norm,
            spatial_softmax_num_keypoints=spatial_softmax_num_keypoints,
            crop_shape=tuple(crop_shape) if crop_shape else None, crop_is_random=crop_is_random,
            **self.lerobot_config_kwargs(),
        )
        self.model = modeling.DiffusionPolicy(config)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """LeRobot's denoising loss on the normalised window."""
        loss, _ = self.model(self.to_lerobot(batch, keep_time=True))
        return {"loss": loss}

    def predict(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The whole sampled horizon (LeRobot's ``generate_actions`` keeps only the executed slice); noise comes
        from the global torch RNG, so seeded evaluations repeat."""
        batch = self.to_lerobot(obs, keep_time=True)
        if self.model.config.image_features:
            batch["observation.images"] = batch.pop("observation.image").unsqueeze(2)  # one camera axis
        diffusion = self.model.diffusion
        cond = diffusion._prepare_global_conditioning(batch)
        return diffusion.conditional_sample(cond.shape[0], global_cond=cond)
