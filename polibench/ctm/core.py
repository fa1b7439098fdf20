"""The Continuous Thought Machine core: one tick loop over input tokens, with swappable parts.

Per model call the core "thinks" for T internal ticks over fixed input tokens kv [B, L, d_input] (in CTM-ACT: ACT's
encoder memory). A tick: action synchronisation -> attention query over kv -> synapse(attention output, z) ->
pre-activations a, pushed into a FIFO trace of the last M -> neuron-level models -> post-activations z (gated by
neuron group) -> output synchronisation -> this tick's prediction and its certainty.

Synchronisation values start tiny (products of post-activations of ~0.02), which left the read-outs almost
untrainable; every part therefore reads them through a LayerNorm (``action_norm``, ``out_norm``), written
``sync_action`` / ``sync_out`` below. Traces record the raw synchronisation.

The parts are registered components the core builds with the sizes they need; their contracts (constructor
keywords, call signatures, attributes) are code in :mod:`polibench.ctm.parts`, checked at registration and here.

One loop serves training, inference with per-sample halting, tracing and carried state, so variants swap parts
instead of copying the loop.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from polibench.ctm import parts
from polibench.ctm.parts import Pairing
from polibench.ctm.synchronisation import Synchronisation

Factory = Callable[..., nn.Module]


@dataclass
class CTMState:
    """What the core carries between calls: the pre-activation trace [B, D, M] and post-activations [B, D]."""

    trace: torch.Tensor
    activation: torch.Tensor

    def detach(self) -> "CTMState":
        return CTMState(self.trace.detach(), self.activation.detach())


@dataclass
class CTMOutput:
    """One call's result. T here is the number of ticks actually run (fewer than asked if all samples halted).

    Attributes:
        predictions: every tick's prediction [B, T, *out_shape].
        certainty: [B, T].
        chunk: the prediction used per sample [B, *out_shape]: its halting tick, else its most certain tick.
        ticks_used: ticks each sample needed [B] (halting tick + 1, else T).
        state: the state after each sample's last used tick (to carry into the next call).
        extras: the halting rule's other per-tick outputs, each [B, T].
        trace: per-tick internals when tracing (see :meth:`CTMCore.forward`), else None.
    """

    predictions: torch.Tensor
    certainty: torch.Tensor
    chunk: torch.Tensor
    ticks_used: torch.Tensor
    state: CTMState
    extras: dict[str, torch.Tensor]
    trace: dict[str, torch.Tensor] | None


class CTMCore(nn.Module):
    """The CTM tick loop with learnable start state, indexed-pair synchronisation and swappable parts.

    Args:
        d_input: width of the input tokens (the attention width).
        heads: attention heads.
        out_shape: shape of one tick's prediction per sample (CTM-ACT: (horizon, action_dim)).
        d_model: D, the number of neurons.
        memory: M, the length of each neuron's pre-activation history.
        n_action_pairs, n_out_pairs: sizes of the two synchronisation representations.
        synapse, neuron_model, gating, halting: component factories; pairing: a pairing instance (module doc).
        dropout: attention dropout.
        read_out: what the chunk and the halting rule read each tick: ``sync`` (the output synchronisation, CTM's
            representation) or ``activations`` (the post-activations z themselves, layer-normalised; no output
            pairs are built), the ablation of synchronisation as the latent.
    """

    def __init__(self, d_input: int, heads: int, out_shape: tuple[int, ...], d_model: int, memory: int,
                 n_action_pairs: int, n_out_pairs: int, synapse: Factory, neuron_model: Factory, pairing: Pairing,
                 gating: Factory, halting: Factory, dropout: float = 0.0, read_out: str = "sync") -> None:
        super().__init__()
        if read_out not in READ_OUTS:
            raise ValueError(f"read_out must be one of {READ_OUTS}, got {read_out!r}")
        self.d_model, self.out_shape = d_model, tuple(out_shape)
        parts.check_instance("pairing", pairing, repr(pairing))
        self.sync_action = Synchronisation(*pairing(d_model, n_action_pairs, "action"))
        self.sync_out = Synchronisation(*pairing(d_model, n_out_pairs, "out")) if read_out == "sync" else None
        n_out = self.sync_out.n_pairs if self.sync_out is not None else d_model
        # the parts read synchronisation layer-normalised (see the module docstring)
        self.action_norm = nn.LayerNorm(self.sync_action.n_pairs)
        self.out_norm = nn.LayerNorm(n_out)
        self.query = nn.Linear(self.sync_action.n_pairs, d_input)
        self.attention = nn.MultiheadAttention(d_input, heads, dropout=dropout, batch_first=True)
        self.synapse = parts.build("synapse", synapse, d_input=d_input, d_model=d_model,
                                       n_sync_action=self.sync_action.n_pairs)
        self.neuron_model = parts.build("neuron_model", neuron_model, d_model=d_model, memory=memory)
        self.gating = parts.build("gating", gating, pair_neurons=self.sync_action.left, n_neurons=d_model)
        if d_model % self.gating.groups:
            raise ValueError(f"gating has {self.gating.groups} groups, which do not divide {d_model} neurons")
        self.readout = nn.Linear(n_out, math.prod(self.out_shape))
        self.halting = parts.build("halting", halting, n_sync_out=n_out)
        bound = math.sqrt(1.0 / d_model)
        self.start_activation = nn.Parameter(torch.empty(d_model).uniform_(-bound, bound))
        bound = math.sqrt(1.0 / (d_model + memory))
        self.start_trace = nn.Parameter(torch.empty(d_model, memory).uniform_(-bound, bound))

    def initial_state(self, batch_size: int) -> CTMState:
        """The learnt start state, broadcast to the batch (the state of a fresh episode)."""
        return CTMState(self.start_trace.expand(batch_size, -1, -1), self.start_activation.expand(batch_size, -1))

    def forward(self, kv: torch.Tensor, ticks: int, state: CTMState | None = None, halt: bool = False,
                trace: bool = False) -> CTMOutput:
        """Think for up to ``ticks`` ticks over tokens ``kv`` [B, L, d_input].

        Args:
            state: carried state from a previous call; None starts from the learnt start state.
            halt: freeze each sample's output (and carried state) at its first tick whose certainty reaches
                ``halting.threshold``; the loop stops once every sample halted.
            trace: also return per tick, each stacked [B, T, ...] and detached: ``pre_activations`` and
                ``post_activations`` [D], ``sync_action`` [Pa], ``sync_out`` [Po] (sync read-out only),
                ``attention`` [heads, L], ``gates`` [G], ``certainty``; plus ``halt_tick`` [B] (-1: never halted).
        """
        b = kv.shape[0]
        state = state if state is not None else self.initial_state(b)
        history, z = state.trace, state.activation
        attend = _TickAttention(self.attention, self.query, kv)  # keys, values and the query map: once per call
        rate_action = self.sync_action.rate()
        read = _ReadOut(self.sync_out, z)
        acc_action = None
        group_size = self.d_model // self.gating.groups
        halted = torch.zeros(b, dtype=torch.bool, device=kv.device)
        halt_tick = torch.full((b,), -1, dtype=torch.long, device=kv.device)
        kept = CTMState(history, z)
        per_tick: dict[str, list[torch.Tensor]] = defaultdict(list)
        recorded: dict[str, list[torch.Tensor]] = defaultdict(list)
        previous = None
        for t in range(ticks):
            sync_action, acc_action = self.sync_action(z, acc_action, rate_action)
            action_features = self.action_norm(sync_action)
            attn, weights = attend(action_features, need_weights=trace)
            pre = self.synapse(attn, z, t, action_features)
            history = torch.cat([history[:, :, 1:], pre[..., None]], dim=-1)
            gate = self.gating(action_features)
            per_neuron = gate.repeat_interleave(group_size, dim=1) if gate.shape[1] > 1 else gate  # [B, 1] broadcasts
            z = z + per_neuron * (self.neuron_model(history) - z)
            sync_out = read(z)
            out_features = self.out_norm(sync_out)
            chunk = self.readout(out_features).view(b, *self.out_shape)
            judged = self.halting(out_features, chunk, previous)
            previous = chunk
            per_tick["predictions"].append(chunk)
            for key, value in judged.items():
                per_tick[key].append(value)
            if trace:
                now = [("pre_activations", pre), ("post_activations", z), ("sync_action", sync_action),
                       ("attention", weights), ("gates", gate), ("certainty", judged["certainty"])]
                if self.sync_out is not None:  # an "activations" read-out is z itself, traced already
                    now.append(("sync_out", sync_out))
                for key, value in now:
                    recorded[key].append(value.detach())
            if halt:
                newly = ~halted & (judged["certainty"] >= self.halting.threshold)
                halt_tick = torch.where(newly, t, halt_tick)
                halted = halted | newly
                kept = CTMState(torch.where(newly[:, None, None], history, kept.trace),
                                torch.where(newly[:, None], z, kept.activation))
                if bool(halted.all()):
                    break
        stacked = {key: torch.stack(values, dim=1) for key, values in per_tick.items()}
        predictions, certainty = stacked.pop("predictions"), stacked.pop("certainty")
        ran = predictions.shape[1]
        if halt:
            chosen = torch.where(halted, halt_tick, certainty.argmax(dim=1))
            final = CTMState(torch.where(halted[:, None, None], kept.trace, history),
                             torch.where(halted[:, None], kept.activation, z))
        else:  # nothing halted: skip the [B, D, M] selections (every training step takes this path)
            chosen, final = certainty.argmax(dim=1), CTMState(history, z)
        traced = None
        if trace:
            traced = {key: torch.stack(values, dim=1) for key, values in recorded.items()} | {"halt_tick": halt_tick}
        return CTMOutput(
            predictions=predictions,
            certainty=certainty,
            chunk=predictions[torch.arange(b, device=kv.device), chosen],
            ticks_used=torch.where(halted, halt_tick + 1, ran),
            state=final,
            extras=stacked,
            trace=traced,
        )


#: What a tick's chunk is read from (see ``CTMCore``'s ``read_out``).
READ_OUTS = ("sync", "activations")


class _ReadOut:
    """This call's output representation per tick: the running output synchronisation, or z itself."""

    def __init__(self, sync: Synchronisation | None, z: torch.Tensor) -> None:
        self.sync = sync
        if sync is not None:
            self.rate = sync.rate()
            _, self.acc = sync(z, None, self.rate)  # the start state's post-activations open the running sums

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        if self.sync is None:
            return z
        out, self.acc = self.sync(z, self.acc, self.rate)
        return out


class _TickAttention:
    """One query per sample and tick over fixed tokens, with the weights of an ``nn.MultiheadAttention``.

    The keys and values of the tokens do not change between ticks, so they are projected once per call, and the
    query map (the core's ``query`` linear, then the attention's query projection) is folded into one matrix:
    per tick, one matmul, one attention and the output projection remain. Same function as calling the module.
    """

    def __init__(self, mha: nn.MultiheadAttention, query: nn.Linear, kv: torch.Tensor) -> None:
        e, self.heads, self.dropout = mha.embed_dim, mha.num_heads, mha.dropout if mha.training else 0.0
        self.out_proj = mha.out_proj
        w_q, w_k, w_v = mha.in_proj_weight.split(e)
        b_q, b_k, b_v = mha.in_proj_bias.split(e)
        self.w_query = w_q @ query.weight
        self.b_query = w_q @ query.bias + b_q
        b, length, _ = kv.shape
        heads = lambda x: x.view(b, length, self.heads, e // self.heads).transpose(1, 2)  # noqa: E731
        self.keys = heads(nn.functional.linear(kv, w_k, b_k))  # [B, heads, L, e/heads]
        self.values = heads(nn.functional.linear(kv, w_v, b_v))

    def __call__(self, features: torch.Tensor, need_weights: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attention output [B, e] for query features [B, Pa], and the weights [B, heads, L] if asked."""
        b = features.shape[0]
        q = nn.functional.linear(features, self.w_query, self.b_query).view(b, self.heads, 1, -1)
        if need_weights:  # tracing: the weights are wanted, so compute them explicitly (no dropout in eval)
            weights = torch.softmax(q @ self.keys.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
            weights = nn.functional.dropout(weights, self.dropout)
            out = weights @ self.values
        else:
            weights, out = None, nn.functional.scaled_dot_product_attention(q, self.keys, self.values,
                                                                            dropout_p=self.dropout)
        return self.out_proj(out.reshape(b, -1)), None if weights is None else weights[:, :, 0]
