"""The policy contract every assembled policy meets, and the action selection they all share.

A policy sees normalised tensors only. This base class owns normalisation (stats live in buffers, so a checkpoint
is self-contained), observation history, the action-chunk queue and ACT-style temporal ensembling; subclasses
implement :meth:`Policy.forward` (training outputs) and :meth:`Policy.predict` (a normalised action chunk).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from polibench.normalize import MinMaxNormalizer

if TYPE_CHECKING:
    from polibench.data.windows import WindowSampler

IMAGE_NDIM = 3  # (H, W, C) uint8, as gym-pusht renders
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class FeatureSpec:
    """Shapes of the observation entries and of the action: all a policy needs to be built."""

    obs_shapes: dict[str, tuple[int, ...]]
    action_dim: int

    @property
    def vector_keys(self) -> list[str]:
        return sorted(k for k, s in self.obs_shapes.items() if len(s) == 1)

    @property
    def image_keys(self) -> list[str]:
        return sorted(k for k, s in self.obs_shapes.items() if len(s) == IMAGE_NDIM)

    def to_json(self) -> str:
        return json.dumps({"obs_shapes": {k: list(v) for k, v in self.obs_shapes.items()}, "action_dim": self.action_dim})

    @classmethod
    def from_json(cls, text: str) -> "FeatureSpec":
        raw = json.loads(text)
        return cls({k: tuple(v) for k, v in raw["obs_shapes"].items()}, int(raw["action_dim"]))


class LossTerm:
    """One weighted term of a policy's loss; reads the policy's outputs and the normalised batch."""

    name: str = "loss_term"

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def __call__(self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError


@dataclass
class CallInfo:
    """What the last ``select_action`` did: whether the model ran and, for CTM policies, ticks used per sample.

    ``internals``: per-sample arrays (leading batch axis) of the model's inner workings during this call, filled only
    by policies that offer them and only while ``Policy.record_internals`` is on (figures, not the benchmark).
    """

    model_called: bool = False
    ticks: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    internals: dict[str, np.ndarray] | None = None


class Policy(nn.Module):
    """Base class of every policy.

    Args:
        spec: observation and action shapes.
        n_obs_steps: observation history length fed to the model.
        horizon: actions predicted per model call.
        n_action_steps: actions executed from each prediction before the model is called again.
        action_start: index in the predicted horizon of the action for the current step (``n_obs_steps - 1`` when
            the horizon also covers the past, as in Diffusion Policy; 0 for ACT).
        temporal_ensemble_coeff: if set, the model runs every step and overlapping chunk predictions are averaged
            with weights ``exp(-coeff * i)`` (i = 0 for the oldest), as in ACT; requires ``n_action_steps == 1``.
        losses: the loss terms, summed with their weights.

    Attributes:
        record_internals: ask the model to fill ``last_call.internals`` at each call (off by default, so the
            benchmark path pays nothing; policies without internals ignore it).
    """

    record_internals: bool = False

    def __init__(
        self,
        spec: FeatureSpec,
        *,
        n_obs_steps: int,
        horizon: int,
        n_action_steps: int,
        action_start: int = 0,
        temporal_ensemble_coeff: float | None = None,
        losses: Sequence[LossTerm] = (),
    ) -> None:
        super().__init__()
        if n_obs_steps < 1 or horizon < 1 or n_action_steps < 1:
            raise ValueError("n_obs_steps, horizon and n_action_steps must all be >= 1")
        if action_start + n_action_steps > horizon:
            raise ValueError(
                f"action_start ({action_start}) + n_action_steps ({n_action_steps}) exceeds horizon ({horizon})"
            )
        if temporal_ensemble_coeff is not None and n_action_steps != 1:
            raise ValueError("temporal ensembling runs the model every step: set n_action_steps = 1")
        if not losses:
            raise ValueError(f"{type(self).__name__} needs at least one loss term")
        self.spec = spec
        self.n_obs_steps = n_obs_steps
        self.horizon = horizon
        self.n_action_steps = n_action_steps
        self.action_start = action_start
        self.temporal_ensemble_coeff = temporal_ensemble_coeff
        self.losses = list(losses)
        shapes = {k: spec.obs_shapes[k] for k in spec.vector_keys}
        shapes["action"] = (spec.action_dim,)
        self.normalizer = MinMaxNormalizer(shapes)
        self.last_call = CallInfo()
        self.reset()

    # ----- what the data pipeline must provide -----
    @property
    def obs_offsets(self) -> list[int]:
        """Time offsets of the observations in one training sample (0 = now)."""
        return list(range(1 - self.n_obs_steps, 1))

    @property
    def action_offsets(self) -> list[int]:
        """Time offsets of the target actions in one training sample."""
        return list(range(-self.action_start, self.horizon - self.action_start))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # ----- subclass hooks -----
    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:  # pragma: no cover - abstract
        """Training outputs (whatever the loss terms read) from a normalised batch."""
        raise NotImplementedError

    def predict(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:  # pragma: no cover - abstract
        """Normalised action chunk [B, horizon, action_dim] from normalised observations [B, n_obs_steps, ...]."""
        raise NotImplementedError

    def reset_state(self) -> None:
        """Hook for policies that carry internal state across control steps (cleared on ``reset``)."""

    def adapt_trained_state(self, state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
        """Saved weights fitted to this policy as built from the run's config with inference-time overrides:
        (the state to load strictly, notes on what was left unused). Identity here; a policy whose read-out rules
        can change at inference without retraining drops the weights only the replaced rule used."""
        return state, []

    def prepare_for_evaluation(self, validation: Callable[[], WindowSampler]) -> dict[str, Any]:
        """Hook run on the trained policy before every evaluation of it; what it did, as entries for the
        evaluation's recorded config (``{}``: nothing). ``validation()`` gives windows of the run's own validation
        episodes (never evaluation seeds), e.g. to calibrate an inference-time setting such as CTM-ACT's halting
        budget for a stated tolerance."""
        return {}

    def sample_batch(self, sampler: WindowSampler, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """One training batch of ``batch_size`` windows: independent windows; a policy trained on runs of
        consecutive windows (CTM-ACT with carried state) draws those instead."""
        return sampler.sample(batch_size, generator)

    def set_training_progress(self, step: int, total_steps: int) -> None:
        """Hook called by the trainer before every optimiser step (curricula such as CTM-ACT's tick ramp)."""

    # ----- normalisation -----
    def normalize_obs(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = dict(obs)
        for key in self.spec.vector_keys:
            out[key] = self.normalizer.normalize(key, obs[key].float())
        for key in self.spec.image_keys:  # (..., H, W, C) uint8 -> (..., C, H, W) float in [0, 1]
            out[key] = obs[key].float().div(255.0).movedim(-1, -3)
        return out

    def normalize_batch(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = self.normalize_obs(batch)
        out["action"] = self.normalizer.normalize("action", batch["action"].float())
        return out

    # ----- training -----
    def compute_loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Weighted sum of the loss terms on a raw (unnormalised) batch; returns every term and ``loss``."""
        nbatch = self.normalize_batch(batch)
        outputs = self(nbatch)
        terms = {term.name: term(outputs, nbatch) for term in self.losses}
        total = sum(term.weight * terms[term.name] for term in self.losses)
        return {"loss": total, **{k: v.detach() for k, v in terms.items()}}

    # ----- inference -----
    @torch.no_grad()
    def predict_chunk(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Action chunk in environment units (fp32, whatever autocast ran inside) from raw observations
        [B, n_obs_steps, ...]."""
        return self.normalizer.unnormalize("action", self.predict(self.normalize_obs(obs)).float())

    def reset(self) -> None:
        """Start a new episode: clear observation history, queued actions, ensembling buffers and carried state."""
        self._history: deque[dict[str, np.ndarray]] = deque(maxlen=self.n_obs_steps)
        self._queue: deque[np.ndarray] = deque()
        self._ens_sum: torch.Tensor | None = None
        self._ens_weight: torch.Tensor | None = None
        self._ens_count: torch.Tensor | None = None
        self.reset_state()

    def _stacked_history(self) -> dict[str, torch.Tensor]:
        while len(self._history) < self.n_obs_steps:  # pad the start of an episode with its first observation
            self._history.appendleft(self._history[0])
        return {
            key: torch.as_tensor(np.stack([h[key] for h in self._history], axis=1), device=self.device)
            for key in self.spec.obs_shapes
        }

    def _ensemble(self, chunk: torch.Tensor) -> torch.Tensor:
        """Fold a new chunk [B, H, A] into the running weighted average and return the current action [B, A]."""
        b, h, _ = chunk.shape
        if self._ens_sum is None:
            self._ens_sum = torch.zeros_like(chunk)
            self._ens_weight = torch.zeros(b, h, device=chunk.device)
            self._ens_count = torch.zeros(b, h, device=chunk.device)
        weight = torch.exp(-self.temporal_ensemble_coeff * self._ens_count)
        self._ens_sum += weight.unsqueeze(-1) * chunk
        self._ens_weight += weight
        self._ens_count += 1
        action = self._ens_sum[:, 0] / self._ens_weight[:, :1]
        pad = lambda t: torch.cat([t[:, 1:], torch.zeros_like(t[:, :1])], dim=1)  # noqa: E731
        self._ens_sum, self._ens_weight, self._ens_count = pad(self._ens_sum), pad(self._ens_weight), pad(self._ens_count)
        return action

    def _checked_observation(self, obs: Any) -> tuple[dict[str, np.ndarray], bool]:
        """The observation's entries with a leading batch axis, and whether it came without one.

        Everything is checked before the observation joins the history, so a bad one is refused with a message and
        leaves the episode's state (history, queued actions) as it was: a NaN would otherwise come back as NaN
        actions and stay in the queue, and another number of environments would come back in the wrong shape.
        """
        expected = sorted(self.spec.obs_shapes)
        if not isinstance(obs, Mapping):
            pair = " (a pair: pass the observation of `obs, info = env.reset()`, not both)" if isinstance(obs, tuple) \
                else ""
            raise TypeError(f"select_action takes gym-pusht's observation, a dict with {expected}; got "
                            f"{type(obs).__name__}{pair}")
        missing = sorted(set(expected) - set(obs))
        if missing:
            raise KeyError(f"observation lacks {missing}; the policy was trained on {expected}")
        step, batch_sizes = {}, set()
        for key, shape in self.spec.obs_shapes.items():
            value = np.asarray(obs[key])
            if not (np.issubdtype(value.dtype, np.number) or value.dtype == bool) or np.iscomplexobj(value):
                raise TypeError(f"observation {key!r} must be real numbers, got an array of {value.dtype}")
            if value.ndim not in (len(shape), len(shape) + 1) or value.shape[value.ndim - len(shape):] != tuple(shape):
                raise ValueError(f"observation {key!r} has shape {value.shape}, but the policy was trained on "
                                 f"{tuple(shape)} (or a batch of them, (n_envs, *{tuple(shape)}))")
            if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
                raise ValueError(f"observation {key!r} holds NaN or inf ({np.array2string(value, threshold=20)}): "
                                 "the actions would be NaN. Check the environment or sensor that produced it")
            if np.issubdtype(value.dtype, np.floating) and (np.abs(value) > FLOAT32_MAX).any():
                raise ValueError(f"observation {key!r} holds values beyond float32's range (+-{FLOAT32_MAX:.3g}, "
                                 f"{np.array2string(value, threshold=20)}): the policy computes in float32, where they "
                                 "are inf and the actions NaN. Check the environment or sensor that produced it")
            batch_sizes.add(None if value.ndim == len(shape) else value.shape[0])
            step[key] = value[None] if value.ndim == len(shape) else value
        if len(batch_sizes) > 1:
            raise ValueError(f"observation entries disagree on the batch (leading axis): {sorted(map(str, batch_sizes))}")
        n = next(iter(step.values())).shape[0]
        if self._history and (before := next(iter(self._history[-1].values())).shape[0]) != n:
            raise ValueError(f"this observation holds {n} environment(s), the episode so far {before}: call reset() "
                             "when the number of environments changes")
        return step, batch_sizes == {None}

    @torch.no_grad()
    def select_action(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Action for the current step from gym-pusht's raw observation (one env, or a batch with a leading axis)."""
        if self.training:
            self.eval()
        step, unbatched = self._checked_observation(obs)
        self._history.append(step)
        self.last_call = CallInfo()
        if self.temporal_ensemble_coeff is not None:
            chunk = self.predict_chunk(self._stacked_history())
            self.last_call.model_called = True
            action = self._ensemble(chunk[:, self.action_start :]).cpu().numpy()
        else:
            if not self._queue:
                chunk = self.predict_chunk(self._stacked_history()).cpu().numpy()
                self.last_call.model_called = True
                start = self.action_start
                self._queue.extend(chunk[:, start + i] for i in range(self.n_action_steps))
            action = self._queue.popleft()
        return action[0] if unbatched else action
