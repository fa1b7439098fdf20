"""The CTM tick loop as it was before its per-tick overhead was cut (polibench 0.1.0, commit 7bb7c8c), kept as the
reference the optimised :class:`polibench.ctm.core.CTMCore` must reproduce on the same weights.

It calls the core's own modules (``nn.MultiheadAttention`` included) and spells out the synchronisation recursion,
so a change to the core's fused paths (attention, synchronisation, gating broadcast) is checked against the plain
formulation. Halting, tracing and carried state are left to the core's own tests.
"""

from __future__ import annotations

import torch

from polibench.ctm.core import CTMCore, CTMState


def _sync(module, z: torch.Tensor, acc: tuple[torch.Tensor, torch.Tensor] | None):
    product = z[:, module.left] * z[:, module.right]
    rate = torch.exp(-module.decay.clamp(0.0, 15.0))
    alpha, beta = (product, torch.ones_like(product)) if acc is None else (rate * acc[0] + product,
                                                                            rate * acc[1] + 1.0)
    return alpha / beta.sqrt(), (alpha, beta)


def reference_forward(core: CTMCore, kv: torch.Tensor, ticks: int,
                      state: CTMState | None = None) -> tuple[torch.Tensor, torch.Tensor, CTMState]:
    """Every tick's prediction [B, T, *out_shape], certainty [B, T] and the final state, without halting."""
    b = kv.shape[0]
    state = state if state is not None else core.initial_state(b)
    history, z = state.trace, state.activation
    group_size = core.d_model // core.gating.groups
    _, acc_out = _sync(core.sync_out, z, None)
    acc_action = None
    predictions, certainty, previous = [], [], None
    for t in range(ticks):
        sync_action, acc_action = _sync(core.sync_action, z, acc_action)
        features = core.action_norm(sync_action)
        attn, _ = core.attention(core.query(features)[:, None], kv, kv, need_weights=False)
        pre = core.synapse(attn[:, 0], z, t, features)
        history = torch.cat([history[:, :, 1:], pre[..., None]], dim=-1)
        gate = core.gating(features)
        z = z + gate.repeat_interleave(group_size, dim=1) * (core.neuron_model(history) - z)
        sync_out, acc_out = _sync(core.sync_out, z, acc_out)
        out_features = core.out_norm(sync_out)
        chunk = core.readout(out_features).view(b, *core.out_shape)
        certainty.append(core.halting(out_features, chunk, previous)["certainty"])
        predictions.append(chunk)
        previous = chunk
    return torch.stack(predictions, dim=1), torch.stack(certainty, dim=1), CTMState(history, z)
