"""LeRobot 0.4.4 bridge: the import guard, our keys <-> LeRobot feature names, and the Policy adapter base.

LeRobot is an optional extra (it pins an older torch), so nothing here imports it at module import time: the
constructors call :func:`require_lerobot`, which names the install command when it is missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import torch

from polibench.policy import FeatureSpec, LossTerm, Policy

LEROBOT_VERSION = "0.4.4"
INSTALL_HINT = f'pip install -e ".[lerobot]" && pip install --no-deps lerobot=={LEROBOT_VERSION}'

#: Our observation/action keys (gym-pusht's) -> LeRobot's feature names and FeatureType names.
LEROBOT_NAMES = {
    "agent_pos": "observation.state",
    "environment_state": "observation.environment_state",
    "pixels": "observation.image",
    "action": "action",
}
FEATURE_TYPES = {"agent_pos": "STATE", "environment_state": "ENV", "pixels": "VISUAL", "action": "ACTION"}

# LeRobot trains image policies with ImageNet statistics for cameras (DatasetConfig.use_imagenet_stats).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class LeRobotMissingError(ImportError):
    """LeRobot (the optional extra) is not installed."""


def require_lerobot(module: str = "lerobot") -> ModuleType:
    """Import ``module`` from LeRobot, or fail with the install command (lerobot must not resolve torch)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise LeRobotMissingError(
            f"LeRobot {LEROBOT_VERSION} is needed for this component but could not be imported ({exc}). "
            f"Install the extra without letting pip replace torch: {INSTALL_HINT}"
        ) from exc


def normalization_mapping() -> dict[str, Any]:
    """Min-max to [-1, 1] for STATE, ENV and ACTION (as our normaliser), ImageNet mean/std for VISUAL.

    LeRobot's defaults map only VISUAL, STATE and ACTION: without the ENV entry the keypoints would reach the
    model unnormalised (pixel coordinates up to 512).
    """
    mode = require_lerobot("lerobot.configs.types").NormalizationMode
    return {"VISUAL": mode.MEAN_STD, "STATE": mode.MIN_MAX, "ENV": mode.MIN_MAX, "ACTION": mode.MIN_MAX}


def policy_features(spec: FeatureSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """LeRobot ``input_features`` and ``output_features`` for our spec (images as (C, H, W))."""
    types = require_lerobot("lerobot.configs.types")
    unknown = set(spec.obs_shapes) - set(LEROBOT_NAMES)
    if unknown:
        raise ValueError(f"no LeRobot feature name for observation entries {sorted(unknown)}; "
                         f"known: {sorted(LEROBOT_NAMES)}")
    inputs = {}
    for key, shape in spec.obs_shapes.items():
        lerobot_shape = (shape[2], shape[0], shape[1]) if key in spec.image_keys else tuple(shape)
        inputs[LEROBOT_NAMES[key]] = types.PolicyFeature(types.FeatureType[FEATURE_TYPES[key]], lerobot_shape)
    outputs = {"action": types.PolicyFeature(types.FeatureType.ACTION, (spec.action_dim,))}
    return inputs, outputs


def lerobot_stats(policy: Policy) -> dict[str, dict[str, torch.Tensor]]:
    """Our normaliser's statistics (and ImageNet's for images) under LeRobot names, for its processors."""
    stats = {
        LEROBOT_NAMES[key]: {"min": getattr(policy.normalizer, f"{key}_min").cpu(),
                             "max": getattr(policy.normalizer, f"{key}_max").cpu()}
        for key in policy.normalizer.keys
    }
    for key in policy.spec.image_keys:
        stats[LEROBOT_NAMES[key]] = {"mean": torch.tensor(IMAGENET_MEAN).view(3, 1, 1),
                                     "std": torch.tensor(IMAGENET_STD).view(3, 1, 1)}
    return stats


def make_lerobot_processors(policy: "LeRobotPolicy") -> tuple[Any, Any]:
    """LeRobot's own pre/post processors for the wrapped model, with this policy's statistics.

    For running the wrapped model in LeRobot's loops; inside polibench our normaliser does the same mapping.
    """
    factory = require_lerobot("lerobot.policies.factory")
    return factory.make_pre_post_processors(policy.model.config, dataset_stats=lerobot_stats(policy))


class LeRobotLoss(LossTerm):
    """The wrapped LeRobot policy's own training loss (``outputs["loss"]``)."""

    name = "lerobot_loss"

    def __call__(self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return outputs["loss"]


class LeRobotPolicy(Policy):
    """Our Policy around a LeRobot ``PreTrainedPolicy`` (``self.model``), so our trainer, run dirs and harness
    treat it like our own policies.

    Normalisation is ours (min-max to [-1, 1] for every vector entry, stats saved with the weights), identical to
    LeRobot's processors with :func:`normalization_mapping`; images are scaled to [0, 1] then by ImageNet
    mean/std. Observation history, action queue and temporal ensembling are ours too, so actions are executed
    exactly as for our policies. Subclasses build ``self.model`` and implement ``forward`` and ``predict``.
    """

    def __init__(self, spec: FeatureSpec, *, n_obs_steps: int, horizon: int, n_action_steps: int,
                 action_start: int = 0, temporal_ensemble_coeff: float | None = None) -> None:
        super().__init__(spec, n_obs_steps=n_obs_steps, horizon=horizon, n_action_steps=n_action_steps,
                         action_start=action_start, temporal_ensemble_coeff=temporal_ensemble_coeff,
                         losses=[LeRobotLoss()])
        self.register_buffer("image_mean", torch.tensor(IMAGENET_MEAN).view(3, 1, 1), persistent=False)
        self.register_buffer("image_std", torch.tensor(IMAGENET_STD).view(3, 1, 1), persistent=False)

    def lerobot_config_kwargs(self) -> dict[str, Any]:
        """Config fields every wrapped LeRobot policy gets: our features and the matching normalisation."""
        inputs, outputs = policy_features(self.spec)
        return {"input_features": inputs, "output_features": outputs,
                "normalization_mapping": normalization_mapping(), "device": "cpu"}

    def to_lerobot(self, batch: dict[str, torch.Tensor], keep_time: bool) -> dict[str, torch.Tensor]:
        """Our normalised batch [B, T, ...] -> LeRobot's names (time axis dropped unless ``keep_time``)."""
        out: dict[str, torch.Tensor] = {}
        for key in self.spec.obs_shapes:
            value = batch[key]
            if key in self.spec.image_keys:
                value = (value - self.image_mean) / self.image_std
            out[LEROBOT_NAMES[key]] = value if keep_time else value[:, -1]
        for key in ("action", "action_is_pad"):
            if key in batch:
                out[key] = batch[key]
        return out
