"""CTM-ACT: ACT's encoder with a Continuous Thought Machine core in place of ACT's decoder.

The encoder is ACT's, unchanged and under the same name (``self.encoder``), so an ACT run loads it
through ``polibench.Experiment.init_from``.
Each model call thinks for up to T ticks over the encoder memory; every tick predicts a whole action chunk.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Sequence

import torch
from torch import nn

from polibench.ctm.calibration import apply_tolerance
from polibench.ctm.core import CTMCore, CTMOutput, CTMState, Pairing
from polibench.data.windows import WindowSampler
from polibench.nn.act_encoder import ENCODER_SLOTS, ACTEncoder, EncoderSettings
from polibench.policy import FeatureSpec, LossTerm, Policy
from polibench.registry import register
from polibench.slots import ComponentSlot


@register("policy", "ctm_act")
class CTMACTPolicy(Policy):
    """ACT encoder -> CTM core (T ticks, per-tick chunks and certainty) -> the chunk of the halting tick.

    Encoder arguments are ACT's (see ``policy.act``), ``n_obs_steps`` included (one encoder token per entry and
    history step); defaults are the CPU-track sizes of gin/act.gin.

    Args:
        neurons: D, neurons of the CTM core.
        memory: M, pre-activation history per neuron.
        ticks: T_max, internal ticks per model call once the curriculum is over.
        action_pairs, out_pairs: synchronisation pairs for the attention query and for the chunk read-out.
        synapse, neuron_model, gating, halting: component factories (gin: ``@synapse.unet``, no parentheses);
            pairing: a pairing instance (gin: ``@pairing.independent_pairs()``). Defaults: see ``SLOTS``.
        curriculum_fraction: T ramps from 1 to T_max in equal stages over this fraction of training (0: always T_max).
        read_out: ``sync`` (chunks read from the output synchronisation) or ``activations`` (from the
            post-activations directly; see :class:`~polibench.ctm.core.CTMCore`).
        carry_state: carry the CTM state (trace and post-activations) from one model call to the next within an
            episode; ``reset()`` clears it.
        train_windows: 1 trains on independent windows (the carried state is then an inference-time option the
            model never saw); L > 1 trains on runs of L consecutive windows ``n_action_steps`` frames apart (a
            batch holds batch_size / L runs), the state carried from window to window and backpropagated through
            the run, as inference with ``carry_state`` calls the model. Needs ``carry_state``.
    """

    SLOTS: ClassVar[dict[str, ComponentSlot]] = {
        **ENCODER_SLOTS,
        "synapse": ComponentSlot("synapse", "unet"),
        "neuron_model": ComponentSlot("neuron_model", "deep"),
        "pairing": ComponentSlot("pairing", "independent_pairs", call=True),
        "gating": ComponentSlot("gating", "none"),
        "halting": ComponentSlot("halting", "variance"),
        "losses": ComponentSlot("loss", ("ctm_tick", "variance_nll", "tick_penalty", "kl"), call=True, form="list"),
    }

    def __init__(
        self,
        spec: FeatureSpec,
        horizon: int = 20,
        n_action_steps: int = 1,
        n_obs_steps: int = 1,
        temporal_ensemble_coeff: float | None = 0.01,
        dim: int = 128,
        heads: int = 4,
        ff_dim: int = 512,
        encoder_layers: int = 4,
        vae_layers: int = 2,
        latent_dim: int = 32,
        dropout: float = 0.1,
        use_vae: bool = True,
        encoders: dict[str, Callable[..., nn.Module]] | None = None,
        neurons: int = 256,
        memory: int = 8,
        ticks: int = 6,
        action_pairs: int = 64,
        out_pairs: int = 128,
        synapse: Callable[..., nn.Module] | None = None,
        neuron_model: Callable[..., nn.Module] | None = None,
        pairing: Pairing | None = None,
        gating: Callable[..., nn.Module] | None = None,
        halting: Callable[..., nn.Module] | None = None,
        curriculum_fraction: float = 0.0,
        carry_state: bool = False,
        train_windows: int = 1,
        read_out: str = "sync",
        losses: Sequence[LossTerm] | None = None,
    ) -> None:
        if ticks < 1:
            raise ValueError(f"ticks must be >= 1, got {ticks}")
        for name, value in (("neurons", neurons), ("memory", memory), ("action_pairs", action_pairs),
                            ("out_pairs", out_pairs)):
            if value < 1:  # memory 0 builds a core whose neuron-level models read an empty history
                raise ValueError(f"policy.ctm_act.{name} must be >= 1, got {value}")
        if not 0.0 <= curriculum_fraction <= 1.0:
            raise ValueError(f"curriculum_fraction must lie in [0, 1], got {curriculum_fraction}")
        if train_windows < 1 or (train_windows > 1 and not carry_state):
            raise ValueError(f"policy.ctm_act.train_windows must be >= 1, and > 1 only with carry_state = True "
                             f"(got train_windows={train_windows}, carry_state={carry_state})")
        slots = self.SLOTS
        super().__init__(spec, n_obs_steps=n_obs_steps, horizon=horizon, n_action_steps=n_action_steps,
                         temporal_ensemble_coeff=temporal_ensemble_coeff, losses=slots["losses"].build(losses))
        self.max_ticks = ticks
        self.ticks = ticks  # current T: the curriculum lowers it during training; a loaded policy uses T_max
        self.curriculum_fraction = curriculum_fraction
        self.carry_state = carry_state
        self.train_windows = train_windows
        self.encoder = ACTEncoder(spec, horizon, EncoderSettings(
            dim=dim, heads=heads, ff_dim=ff_dim, layers=encoder_layers, vae_layers=vae_layers, latent_dim=latent_dim,
            dropout=dropout, use_vae=use_vae, encoders=encoders))
        self.core = CTMCore(
            d_input=dim, heads=heads, out_shape=(horizon, spec.action_dim), d_model=neurons, memory=memory,
            n_action_pairs=action_pairs, n_out_pairs=out_pairs,
            synapse=slots["synapse"].build(synapse),
            neuron_model=slots["neuron_model"].build(neuron_model),
            pairing=slots["pairing"].build(pairing),
            gating=slots["gating"].build(gating),
            halting=slots["halting"].build(halting),
            dropout=dropout,
            read_out=read_out,
        )

    # ----- training -----
    def tick_schedule(self, step: int, total_steps: int) -> int:
        """T at ``step``: T_max equal stages 1, 2, ..., T_max spread over ``curriculum_fraction`` of training."""
        ramp = self.curriculum_fraction * total_steps
        if ramp <= 0:
            return self.max_ticks
        return min(self.max_ticks, 1 + int(step / ramp * self.max_ticks))

    def set_training_progress(self, step: int, total_steps: int) -> None:
        self.ticks = self.tick_schedule(step, total_steps)

    def sample_batch(self, sampler: WindowSampler, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Independent windows, or with ``train_windows`` L > 1 runs of L consecutive windows (row i * L + k is
        window k of run i), as many windows in all."""
        if self.train_windows == 1:
            return sampler.sample(batch_size, generator)
        if batch_size % self.train_windows:
            raise ValueError(f"batch size {batch_size} is not a multiple of policy.ctm_act.train_windows "
                             f"{self.train_windows}")
        return sampler.sample_sequences(batch_size // self.train_windows, self.train_windows, self.n_action_steps,
                                        generator)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        memory, extras = self.encoder(batch)
        runs = memory.unflatten(0, (-1, self.train_windows))  # [runs, L, tokens, dim]; L = 1: every window alone
        state, outs = None, []
        for k in range(self.train_windows):  # the state carried from window to window, as at inference
            out = self.core(runs[:, k], self.ticks, state=state)
            state = out.state
            outs.append(out)
        per_window = {"actions": [o.chunk for o in outs], "tick_actions": [o.predictions for o in outs],
                      "certainty": [o.certainty for o in outs]} | {k: [o.extras[k] for o in outs] for k in outs[0].extras}
        # back to the batch's row order: row i * L + k is window k of run i
        return {key: torch.stack(values, dim=1).flatten(0, 1) for key, values in per_window.items()} | extras

    # ----- inference -----
    def prepare_for_evaluation(self, validation: Callable[[], WindowSampler]) -> dict[str, Any]:
        """A halting rule given a tolerance gets its budget from the validation windows first
        (:func:`~polibench.ctm.calibration.apply_tolerance`), recorded as ``halting_calibration``."""
        calibration = apply_tolerance(self, validation)
        return {} if calibration is None else {"halting_calibration": calibration}

    def adapt_trained_state(self, state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
        """A parameter-free halting rule (``halting.convergence``) can replace the trained one at inference, so
        several rules compare on the same weights: the trained rule's head is then left unused. Any other
        mismatch still fails the strict load."""
        prefix = "core.halting."
        trained = sorted(k for k in state if k.startswith(prefix))
        if not trained or any(True for _ in self.core.halting.state_dict()):
            return state, []
        kept = {k: v for k, v in state.items() if not k.startswith(prefix)}
        return kept, [f"halting rule {type(self.core.halting).__name__} has no weights: the trained halting head "
                      f"({', '.join(k[len(prefix):] for k in trained)}) is unused"]

    def reset_state(self) -> None:
        self._carried: CTMState | None = None

    def _initial_state(self, batch_size: int) -> CTMState | None:
        if not self.carry_state or self._carried is None:
            return None
        if self._carried.trace.shape[0] != batch_size:
            raise ValueError(f"the carried CTM state holds {self._carried.trace.shape[0]} episodes but this call has "
                             f"{batch_size}; call reset() when the batch of environments changes")
        return self._carried

    def predict(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        memory, _ = self.encoder(obs)
        out = self.core(memory, self.ticks, state=self._initial_state(memory.shape[0]), halt=self.core.halting.enabled,
                        trace=self.record_internals)
        if self.carry_state:
            self._carried = out.state.detach()
        self.last_call.ticks = out.ticks_used.cpu().numpy()
        if self.record_internals:  # the trace of this very call: no second forward pass
            self.last_call.internals = {k: v.cpu().numpy() for k, v in self._traced(out).items()}
        return out.chunk

    @torch.no_grad()
    def trace(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Internals of one model call on raw observations [B, n_obs_steps, ...], in eval mode.

        Returns the core's per-tick trace (see :meth:`CTMCore.forward`) plus ``tick_actions`` [B, T, horizon, A]
        and ``actions`` [B, horizon, A] in environment units, ``certainty`` [B, T], ``ticks_used`` [B] and the
        halting rule's extras. Uses, but does not advance, a carried state.
        """
        was_training = self.training
        self.eval()
        memory, _ = self.encoder(self.normalize_obs(obs))
        out = self.core(memory, self.ticks, state=self._initial_state(memory.shape[0]),
                        halt=self.core.halting.enabled, trace=True)
        self.train(was_training)
        return self._traced(out)

    def _traced(self, out: CTMOutput) -> dict[str, torch.Tensor]:
        """A traced core output as :meth:`trace` returns it (actions in environment units)."""
        unnormalize = lambda x: self.normalizer.unnormalize("action", x)  # noqa: E731
        return {**out.trace, **out.extras, "tick_actions": unnormalize(out.predictions),
                "actions": unnormalize(out.chunk), "certainty": out.certainty, "ticks_used": out.ticks_used}
