"""Training hyper-parameters, set from gin (see gin/include/budget_*.gin)."""

from __future__ import annotations

from dataclasses import dataclass

import gin
import torch

from polibench.device import check_device_name, resolve_device
from polibench.gin_check import check_field_types
from polibench.precision import check_precision


@gin.configurable(module="polibench")
@dataclass
class TrainConfig:
    """Optimiser, schedule and bookkeeping for one training run.

    ``ema_decay`` enables an exponential moving average of the weights (diffusers' EMAModel with warm-up power
    ``ema_power``); the EMA weights are the ones evaluated and saved. ``eval_every`` runs a quick rollout
    evaluation on ``eval_episodes`` check seeds (a list disjoint from the benchmark's) during training, in
    batches of ``eval_n_envs`` environments stepped together (a learning curve of a sampling policy such as
    Diffusion Policy is affordable only batched).
    ``num_threads`` fixes torch's CPU threads (None: torch's default). The CPU budget uses 1: two 2-thread
    processes on 2 cores slow each other down many-fold, while 1-thread runs can go side by side, one per core.
    ``precision`` is the autocast precision of the forward pass and loss (``fp32`` or ``bf16``); weights,
    gradients, optimiser state and the saved model stay fp32 either way.
    """

    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 100
    grad_clip: float = 10.0
    ema_decay: float | None = None
    ema_power: float = 0.75
    log_every: int = 50
    val_every: int = 500
    checkpoint_every: int = 500
    eval_every: int = 0
    eval_episodes: int = 5
    eval_n_envs: int = 1
    device: str = "auto"
    num_threads: int | None = None
    precision: str = "fp32"

    def __post_init__(self) -> None:
        check_field_types(self)
        for name in ("steps", "batch_size", "log_every", "val_every", "checkpoint_every"):
            if getattr(self, name) <= 0:
                raise ValueError(f"TrainConfig.{name} must be > 0, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr}")
        if self.grad_clip <= 0:  # clipping to a negative norm flips every gradient: the run would ascend the loss
            raise ValueError(f"TrainConfig.grad_clip must be > 0 (the largest gradient norm), got {self.grad_clip}")
        if self.warmup_steps < 0 or self.eval_every < 0 or self.eval_episodes < 0:
            raise ValueError("warmup_steps, eval_every and eval_episodes must be >= 0")
        if self.eval_n_envs < 1:
            raise ValueError(f"TrainConfig.eval_n_envs must be >= 1, got {self.eval_n_envs}")
        if self.num_threads is not None and self.num_threads <= 0:
            raise ValueError(f"TrainConfig.num_threads must be > 0 or None, got {self.num_threads}")
        check_precision(self.precision, "TrainConfig")
        check_device_name(self.device, "TrainConfig.device")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1) or None, got {self.ema_decay}")

    def resolve_device(self) -> torch.device:
        return resolve_device(self.device, "TrainConfig.device")
