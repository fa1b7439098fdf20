"""Diffusion Policy (Chi et al., RSS 2023), assembled from registered parts: denoiser, noise scheduler, loss."""

from __future__ import annotations

from typing import Callable, ClassVar, Sequence

import torch
from diffusers import SchedulerMixin
from torch import nn

from polibench.policy import FeatureSpec, LossTerm, Policy
from polibench.registry import register
from polibench.slots import ComponentSlot

#: What the denoiser learns to output, per scheduler ``prediction_type``.
TARGETS = ("epsilon", "sample")
GROUP_NORM_CHANNELS = 16


def batchnorm_to_groupnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm2d by GroupNorm (16 channels a group), in place, as the paper does for its ResNet.

    EMA averages parameters, not BatchNorm's running statistics, so EMA weights would run with the online
    model's statistics; GroupNorm has none.
    """
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            setattr(module, name, nn.GroupNorm(child.num_features // GROUP_NORM_CHANNELS, child.num_features))
        else:
            batchnorm_to_groupnorm(child)
    return module


@register("policy", "diffusion")
class DiffusionPolicy(Policy):
    """Denoises an action chunk from Gaussian noise, conditioned on the observation history (FiLM in the denoiser).

    The global condition is every vector entry (normalised) flattened over the ``n_obs_steps`` history, plus for
    each image entry a backbone's globally pooled features per observation step. The horizon covers the past:
    ``action_start`` (default ``n_obs_steps - 1``) is the index of the current step's action.

    Args:
        denoiser: factory called with ``action_dim`` and ``cond_dim`` (default ``head.unet1d``).
        noise_scheduler: factory of a diffusers scheduler (default ``noise_scheduler.ddpm``); its
            ``prediction_type`` ('epsilon' or 'sample') sets the training target.
        num_inference_steps: denoising steps per model call; None uses the scheduler's training steps. Also an
            attribute, so an evaluation can lower it on a trained policy.
        image_backbone: factory of the image feature extractor (default ``backbone.timm``), one per image entry.
        image_group_norm: swap the backbone's BatchNorm for GroupNorm (see :func:`batchnorm_to_groupnorm`).
        losses: default ``[loss.diffusion_mse()]``.
    """

    SLOTS: ClassVar[dict[str, ComponentSlot]] = {
        "denoiser": ComponentSlot("head", "unet1d"),
        "noise_scheduler": ComponentSlot("noise_scheduler", "ddpm"),
        "image_backbone": ComponentSlot("backbone", "timm", serves="image"),
        "losses": ComponentSlot("loss", ("diffusion_mse",), call=True, form="list"),
    }

    def __init__(
        self,
        spec: FeatureSpec,
        n_obs_steps: int = 2,
        horizon: int = 16,
        n_action_steps: int = 8,
        action_start: int | None = None,
        denoiser: Callable[..., nn.Module] | None = None,
        noise_scheduler: Callable[[], SchedulerMixin] | None = None,
        num_inference_steps: int | None = None,
        image_backbone: Callable[[], nn.Module] | None = None,
        image_group_norm: bool = True,
        losses: Sequence[LossTerm] | None = None,
    ) -> None:
        super().__init__(spec, n_obs_steps=n_obs_steps, horizon=horizon, n_action_steps=n_action_steps,
                         action_start=n_obs_steps - 1 if action_start is None else action_start,
                         losses=self.SLOTS["losses"].build(losses))
        self.noise_scheduler = self.SLOTS["noise_scheduler"].build(noise_scheduler)()
        self.prediction_type = self.noise_scheduler.config.prediction_type
        if self.prediction_type not in TARGETS:
            raise ValueError(f"prediction_type {self.prediction_type!r} is not supported; use one of {TARGETS}")
        self.num_inference_steps = num_inference_steps
        make_backbone = self.SLOTS["image_backbone"].build(image_backbone)
        self.backbones = nn.ModuleDict({
            key: batchnorm_to_groupnorm(make_backbone()) if image_group_norm else make_backbone()
            for key in spec.image_keys
        })
        step_dim = sum(spec.obs_shapes[k][0] for k in spec.vector_keys)
        step_dim += sum(b.out_channels for b in self.backbones.values())
        self.denoiser = self.SLOTS["denoiser"].build(denoiser)(action_dim=spec.action_dim,
                                                               cond_dim=n_obs_steps * step_dim)

    def global_condition(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Normalised observations [B, n_obs_steps, ...] -> one condition vector [B, cond_dim]."""
        parts = [obs[key].flatten(1) for key in self.spec.vector_keys]
        for key, backbone in self.backbones.items():
            images = obs[key]  # [B, n_obs, 3, H, W]
            features = backbone(images.flatten(0, 1)).mean(dim=(-2, -1))  # global average pool: [B * n_obs, C]
            parts.append(features.reshape(images.shape[0], -1))
        return torch.cat(parts, dim=-1)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Noise the demonstrated chunk at a random step per sample; ``pred`` should match ``target``."""
        actions = batch["action"]
        noise = torch.randn_like(actions)
        steps = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (actions.shape[0],),
                              device=actions.device)
        noisy = self.noise_scheduler.add_noise(actions, noise, steps)
        pred = self.denoiser(noisy, steps, self.global_condition(batch))
        return {"pred": pred, "target": noise if self.prediction_type == "epsilon" else actions}

    def predict(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Sample a chunk: noise from the global torch RNG (seeded evaluations repeat), then the scheduler's loop."""
        cond = self.global_condition(obs)
        batch_size = cond.shape[0]
        sample = torch.randn(batch_size, self.horizon, self.spec.action_dim, device=cond.device, dtype=cond.dtype)
        scheduler = self.noise_scheduler
        # Timesteps stay on the CPU (a CPU index works wherever training moved the scheduler's tables to); the
        # denoiser gets a copy on its own device.
        scheduler.set_timesteps(self.num_inference_steps or scheduler.config.num_train_timesteps)
        for t in scheduler.timesteps:
            model_output = self.denoiser(sample, t.to(cond.device).expand(batch_size), cond)
            sample = scheduler.step(model_output, t, sample).prev_sample
        # The normalised range is the data's action [min, max]: clipping keeps unnormalised actions inside it.
        return sample.clamp(-1.0, 1.0)
