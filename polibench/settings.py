"""What a config assembles: the :class:`Experiment` (policy factory, data, track, seeds), the one function that builds
a policy from it, and :func:`register_configurables`, which makes everything a config may name known to gin.

Training's and evaluation's settings live beside their code (:class:`~polibench.training.config.TrainConfig`,
:class:`~polibench.evaluation.config.EvalConfig`); this module imports them so that one import registers all three.
"""

from __future__ import annotations

from typing import Any, Callable

import gin

from polibench.evaluation.config import EvalConfig
from polibench.policy import FeatureSpec, Policy
from polibench.registry import load_plugins
from polibench.tracks import get_track
from polibench.training.config import TrainConfig


@gin.configurable(module="polibench")
class Experiment:
    """What to train and on which data.

    Args:
        policy: policy factory, called with ``spec`` (e.g. ``@policy.act`` in gin: the class, not an instance).
        data_source: a data source with ``load() -> EpisodeData`` (e.g. ``@data_source.pusht_zarr()``).
        track: ``keypoints`` or ``pixels``.
        seed: training seed (weights init, batch order, dropout).
        val_fraction: share of episodes held out for the validation loss (split by episode, fixed ``split_seed``).
        init_from: a run directory (or .safetensors file) whose tensors matching by name and shape initialise the
            policy (e.g. ACT's encoder for CTM-ACT); the loaded and new tensors are logged. ``{seed}`` in it stands
            for this run's ``seed``, so each training seed of a sweep starts from the same seed of another sweep
            (``.../parity_act/seed{seed}``).
    """

    def __init__(self, policy: Callable[..., Policy] = gin.REQUIRED, data_source: Any = gin.REQUIRED,
                 track: str = "keypoints", seed: int = 0, val_fraction: float = 0.05, split_seed: int = 0,
                 init_from: str | None = None) -> None:
        self.policy_factory = policy
        self.data_source = data_source
        self.track = get_track(track).name
        self.seed = seed
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self.init_from = init_from

    def init_source(self) -> str | None:
        """``init_from`` for this run's seed (``{seed}`` replaced); None when the policy starts from scratch."""
        return None if self.init_from is None else self.init_from.replace("{seed}", str(self.seed))


def build_policy(exp: Experiment, spec: FeatureSpec) -> Policy:
    policy = exp.policy_factory(spec=spec)
    if not isinstance(policy, Policy):
        raise TypeError(f"Experiment.policy must build a polibench Policy, got {type(policy).__name__}")
    return policy


#: polibench's own configurables, besides the registered components.
SETTINGS = (Experiment, TrainConfig, EvalConfig)


def register_configurables() -> None:
    """Make every configurable a config may name known to gin: the components (built-in and plug-ins) and
    polibench's own settings (registered by importing this module)."""
    load_plugins()
