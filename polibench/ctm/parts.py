"""The contracts of the CTM core's swappable parts, as code: what the core builds each part with and calls it with.

:class:`~polibench.ctm.core.CTMCore` builds every part itself, with sizes only it knows, so a registered part
must accept exactly these keywords (its own hyper-parameters come after them, from gin) and be called as below.
:func:`check_registration` runs when a component of these kinds is registered (signatures; this module declares
the kinds to the registry with it), :func:`build` when the core builds it (the attributes the loop reads); both
raise :class:`ContractError` quoting the contract.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Protocol, runtime_checkable

import torch

from polibench import registry


class ContractError(TypeError):
    """A CTM part that does not fit the core; the message gives the expected signature."""


@runtime_checkable
class Synapse(Protocol):
    """attention read-out [B, d_input], post-activations z [B, D], the tick index and the layer-normalised
    action synchronisation [B, Pa] -> pre-activations [B, D]."""

    def __call__(self, attn: torch.Tensor, z: torch.Tensor, tick: int, sync_action: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class NeuronModel(Protocol):
    """Every neuron's pre-activation history [B, D, M] -> its post-activation [B, D] (neuron d reads only its own
    history)."""

    def __call__(self, history: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Gating(Protocol):
    """Layer-normalised action synchronisation [B, Pa] -> gate [B, G] in [0, 1] per group of D / G contiguous
    neurons; a closed group keeps its previous post-activations."""

    groups: int

    def __call__(self, sync_action: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Halting(Protocol):
    """Layer-normalised output synchronisation [B, Po], this tick's chunk and the previous tick's (None at the
    first) -> {"certainty": [B], ...}; further entries are per-tick extras, returned stacked [B, T]."""

    threshold: float
    enabled: bool

    def __call__(self, sync_out: torch.Tensor, chunk: torch.Tensor,
                 previous: torch.Tensor | None) -> dict[str, torch.Tensor]: ...


def check_budget_or_tolerance(rule: str, param: str, budget: float | None, tolerance: float | None) -> None:
    """A calibratable halting rule takes its budget or a tolerance to calibrate it for, not both."""
    if tolerance is not None and not tolerance >= 0:
        raise ValueError(f"halting.{rule}.tolerance must be >= 0 or None, got {tolerance}")
    if budget is not None and tolerance is not None:
        raise ValueError(f"halting.{rule} got both {param} = {budget} and tolerance = {tolerance}: give one. To "
                         f"evaluate a run configured with a tolerance at a fixed budget, add --gin_param "
                         f"'halting.{rule}.tolerance = None'")


@runtime_checkable
class Pairing(Protocol):
    """An instance: (n_neurons, n_pairs, role "action" | "out") -> (left, right) neuron indices [n_pairs] each."""

    def __call__(self, n_neurons: int, n_pairs: int, role: str) -> tuple[torch.Tensor, torch.Tensor]: ...


@dataclass(frozen=True)
class Contract:
    """What the core passes to a part: constructor keywords (None: the part is an instance, not built), the
    positional arguments of each call, and the attributes the loop reads."""

    protocol: type
    build_kwargs: tuple[str, ...] | None
    call_args: tuple[str, ...]
    attributes: tuple[str, ...] = ()

    def describe(self, kind: str) -> str:
        built = (f"built as factory({', '.join(f'{k}=' for k in self.build_kwargs)}, <its own hyper-parameters>), "
                 if self.build_kwargs is not None else "an instance (gin: @pairing.<name>()), ")
        attrs = f", with attribute(s) {', '.join(self.attributes)}" if self.attributes else ""
        doc = inspect.getdoc(self.protocol) or ""
        return f"a {kind} is {built}called as part({', '.join(self.call_args)}){attrs}: {' '.join(doc.split())}"


CONTRACTS: dict[str, Contract] = {
    "synapse": Contract(Synapse, ("d_input", "d_model", "n_sync_action"), ("attn", "z", "tick", "sync_action")),
    "neuron_model": Contract(NeuronModel, ("d_model", "memory"), ("history",)),
    "gating": Contract(Gating, ("pair_neurons", "n_neurons"), ("sync_action",), ("groups",)),
    "halting": Contract(Halting, ("n_sync_out",), ("sync_out", "chunk", "previous"), ("threshold", "enabled")),
    "pairing": Contract(Pairing, None, ("n_neurons", "n_pairs", "role")),
}


def _fits(fn: Callable[..., Any], args: tuple[Any, ...] = (), kwargs: tuple[str, ...] = (),
          partial: bool = False) -> str | None:
    """Why ``fn`` cannot be called with ``args`` and keywords ``kwargs`` (None: it can); ``partial`` lets
    parameters stay unfilled (hyper-parameters that gin or their defaults supply)."""
    signature = inspect.signature(fn)
    bind = signature.bind_partial if partial else signature.bind
    try:
        bind(*args, **dict.fromkeys(kwargs))
    except TypeError as exc:
        return str(exc)
    return None


def check_registration(kind: str, name: str, obj: Any) -> None:
    """Signature check of a component registered under CTM kind ``kind``.

    A class is checked whole (constructor and forward / __call__); a factory function only by its keywords (the
    module it returns is checked when built).
    """
    contract = CONTRACTS[kind]
    problems = []
    calls = tuple(contract.call_args)
    if inspect.isclass(obj):
        if contract.build_kwargs is not None:
            why = _fits(obj.__init__, (None,), contract.build_kwargs, partial=True)
            if why:
                problems.append(f"its constructor cannot take ({', '.join(contract.build_kwargs)}): {why}")
        method = obj.forward if hasattr(obj, "forward") else obj.__call__
        why = _fits(method, (None, *calls))
        if why:
            problems.append(f"it cannot be called as ({', '.join(calls)}): {why}")
    elif contract.build_kwargs is not None and callable(obj):
        why = _fits(obj, (), contract.build_kwargs, partial=True)
        if why:
            problems.append(f"it cannot be called with ({', '.join(contract.build_kwargs)}): {why}")
    if problems:
        raise ContractError(f"{kind} {name!r} ({getattr(obj, '__qualname__', obj)}): {'; '.join(problems)}. "
                            f"Expected: {contract.describe(kind)}")


def build(kind: str, factory: Callable[..., Any], **sizes: Any) -> Any:
    """``factory(**sizes)``, checked against ``kind``'s contract: a TypeError from the constructor and a missing
    attribute become a :class:`ContractError` quoting the contract."""
    contract = CONTRACTS[kind]
    label = getattr(factory, "__qualname__", repr(factory))
    try:
        part = factory(**sizes)
    except TypeError as exc:
        raise ContractError(f"building {kind} {label} with ({', '.join(f'{k}=' for k in sizes)}) failed: {exc}. "
                            f"Expected: {contract.describe(kind)}") from exc
    check_instance(kind, part, label)
    return part


def check_instance(kind: str, part: Any, label: str) -> None:
    """The attributes and callability a built (or given) part must have."""
    contract = CONTRACTS[kind]
    missing = [a for a in contract.attributes if not hasattr(part, a)]
    if missing or not callable(part):
        what = f"lacks {', '.join(missing)}" if missing else "is not callable"
        raise ContractError(f"{kind} {label} {what}. Expected: {contract.describe(kind)}")


#: The CTM part kinds, declared to the registry with their contracts when this module is imported (the built-in
#: components import it, and so does the registry's import of them before any plug-in).
KIND_DOCS: dict[str, str] = {
    "synapse": "CTM synapse: mixes attention output with the post-activations of the previous tick",
    "neuron_model": "CTM neuron-level model: each neuron's own MLP over its pre-activation history",
    "pairing": "CTM synchronisation pairing: which neuron pairs form the synchronisation latent",
    "gating": "CTM sync gating: which neuron groups fire at a tick",
    "halting": "CTM certainty and halting rule",
}
for _kind, _doc in KIND_DOCS.items():
    registry.declare_kind(_kind, _doc, partial(check_registration, _kind))
