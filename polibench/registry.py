"""The component registry: every swappable part of a policy is registered here by kind and name.

Contract for a registered callable: it is a class or function whose keyword arguments are its hyper-parameters.
Registering makes it gin-configurable as ``<kind>.<name>`` (e.g. ``synapse.unet.depth = 4`` and
``@synapse.unet()`` in a gin file), so one decorator is all a new component needs. Third-party packages expose
modules of components through the ``polibench.components`` entry-point group; :func:`load_plugins` imports them.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable, TypeVar

import gin

T = TypeVar("T")

ENTRY_POINT_GROUP = "polibench.components"

#: The kinds polibench's core assembles policies from, with what each is for. A package that builds a policy from
#: parts of its own declares their kinds with :func:`declare_kind`; kinds exist even while nothing fills them yet.
_KINDS: dict[str, str] = {
    "policy": "a whole policy assembled from the other parts (ACT, Diffusion Policy, ...)",
    "backbone": "image feature extractor (timm models)",
    "encoder": "turns one observation entry into transformer tokens",
    "head": "maps latent features to actions (chunk heads, denoisers)",
    "loss": "a loss term reading the policy's outputs and the batch",
    "noise_scheduler": "diffusion noise scheduler (diffusers)",
    "data_source": "where demonstrations come from",
}

#: A kind's contract: called with (name, obj) by :func:`register`, it raises when ``obj`` cannot fill the kind.
KindContract = Callable[[str, Any], None]
_CONTRACTS: dict[str, KindContract] = {}


class UnknownComponentError(LookupError):
    """Raised for a kind or name that is not registered; the message lists the valid names."""


class DuplicateComponentError(ValueError):
    """Raised when a name is registered twice under one kind."""


@dataclass(frozen=True)
class Entry:
    """One registered component."""

    kind: str
    name: str
    obj: Callable[..., Any]
    doc: str
    module: str


_REGISTRY: dict[str, dict[str, Entry]] = {kind: {} for kind in _KINDS}
_PLUGINS_LOADED = False


def declare_kind(kind: str, doc: str, contract: KindContract | None = None) -> None:
    """Add a kind of component, with what it is for and the ``contract`` every registration of it must meet.

    Declared by the module that gives the kind its meaning (the one that builds and calls its parts), so the
    registry stays ignorant of what any kind is. A kind declared again must keep its description (a second
    package claiming the name for another meaning is refused); its contract is the latest one."""
    if not kind.isidentifier():
        raise ValueError(f"Component kind {kind!r} must be a Python identifier (it is used as a gin module).")
    if kind in _KINDS and _KINDS[kind] != doc:
        raise DuplicateComponentError(f"component kind {kind!r} is already declared as {_KINDS[kind]!r}; choose "
                                      "another kind name.")
    _KINDS[kind] = doc
    _REGISTRY.setdefault(kind, {})
    if contract is not None:
        _CONTRACTS[kind] = contract


def kinds() -> dict[str, str]:
    """Every kind (the core's and those of every imported feature and plug-in) with what it is for."""
    load_plugins()
    return dict(_KINDS)


def _closest(word: str, options: list[str]) -> str:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    return f" Did you mean {match[0]!r}?" if match else ""


def _check_kind(kind: str) -> None:
    if kind not in _REGISTRY:
        load_plugins()  # a plug-in imported first registers into a kind that the built-ins declare
    if kind not in _REGISTRY:
        valid = sorted(_REGISTRY)
        raise UnknownComponentError(
            f"Unknown component kind {kind!r}.{_closest(kind, valid)} Valid kinds: {', '.join(valid)}."
        )


def _first_doc_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else "(no docstring)"


def register(kind: str, name: str | None = None) -> Callable[[T], T]:
    """Decorator: register ``obj`` as component ``name`` of ``kind`` and make it gin-configurable.

    >>> @register("synapse", "my_synapse")
    ... class MySynapse(torch.nn.Module): ...
    """
    _check_kind(kind)

    def decorate(obj: T) -> T:
        key = name or obj.__name__.lower()
        if not key.isidentifier():
            raise ValueError(f"Component name {key!r} must be a Python identifier (it is used as a gin name).")
        if key in _REGISTRY[kind]:
            previous = _REGISTRY[kind][key]
            raise DuplicateComponentError(
                f"{kind} {key!r} is already registered by {previous.module}; choose another name."
            )
        if kind in _CONTRACTS:
            _CONTRACTS[kind](key, obj)
        configurable = gin.configurable(key, module=kind)(obj)
        _REGISTRY[kind][key] = Entry(kind, key, configurable, _first_doc_line(obj), obj.__module__)
        return configurable

    return decorate


def get(kind: str, name: str) -> Callable[..., Any]:
    """The registered callable for ``kind``/``name``; unknown names list the valid ones and the closest."""
    load_plugins()
    _check_kind(kind)
    try:
        return _REGISTRY[kind][name].obj
    except KeyError:
        valid = sorted(_REGISTRY[kind])
        listed = ", ".join(valid) if valid else "(none registered)"
        raise UnknownComponentError(
            f"Unknown {kind} {name!r}.{_closest(name, valid)} Registered {kind} components: {listed}."
        ) from None


def create(kind: str, name: str, **kwargs: Any) -> Any:
    """Build component ``kind``/``name`` with ``kwargs`` (gin bindings fill the rest)."""
    return get(kind, name)(**kwargs)


def names(kind: str) -> list[str]:
    """Sorted names registered under ``kind``."""
    load_plugins()
    _check_kind(kind)
    return sorted(_REGISTRY[kind])


def entries(kind: str | None = None) -> list[Entry]:
    """All entries (or one kind's), sorted by kind then name."""
    load_plugins()
    selected = [kind] if kind is not None else list(_KINDS)
    for k in selected:
        _check_kind(k)
    return [_REGISTRY[k][n] for k in selected for n in sorted(_REGISTRY[k])]


def load_plugins() -> None:
    """Import the built-in components and every module named in the ``polibench.components`` entry points.

    gin must see every configurable before a config is parsed, so this runs before any parse.
    """
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    importlib.import_module("polibench.components")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:  # a broken plugin must not hide the built-ins, but must be visible
            raise ImportError(f"polibench plugin {ep.name!r} ({ep.value}) failed to import: {exc}") from exc
