"""The component registry: every swappable part of a policy is registered here by kind and name.

Contract for a registered callable: it is a class or function whose keyword arguments are its hyper-parameters.
Registering makes it gin-configurable as ``<kind>.<name>`` (e.g. ``synapse.unet.depth = 4`` and
``@synapse.unet()`` in a gin file), so one decorator is all a new component needs. A renamed component keeps its
former names as ``aliases``: committed run configs that use them still load, with a warning naming the new name.
Third-party packages expose modules of components through the ``polibench.components`` entry-point group;
:func:`load_plugins` imports them.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, TypeVar

import gin

T = TypeVar("T")

ENTRY_POINT_GROUP = "polibench.components"
log = logging.getLogger(__name__)

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
    formerly: tuple[str, ...] = ()  # deprecated names that still resolve to this component


@dataclass(frozen=True)
class Alias:
    """A former name of a component: its own gin configurable (``obj``, with its own bindings) that builds ``new``."""

    kind: str
    name: str
    new: str
    obj: Callable[..., Any]


_REGISTRY: dict[str, dict[str, Entry]] = {kind: {} for kind in _KINDS}
_ALIASES: dict[str, dict[str, Alias]] = {kind: {} for kind in _KINDS}
_WARNED: set[tuple[str, str]] = set()
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
    _ALIASES.setdefault(kind, {})
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


def register(kind: str, name: str | None = None, aliases: Sequence[str] = ()) -> Callable[[T], T]:
    """Decorator: register ``obj`` as component ``name`` of ``kind`` and make it gin-configurable.

    ``aliases`` are former names, kept so that configs written before a rename still load: each stays a gin
    configurable of its own (``@kind.old()``, ``old.param = ...``) that builds this component and warns once.

    >>> @register("synapse", "my_synapse")
    ... class MySynapse(torch.nn.Module): ...
    """
    _check_kind(kind)

    def decorate(obj: T) -> T:
        key = name or obj.__name__.lower()
        for taken in (key, *aliases):
            if not taken.isidentifier():
                raise ValueError(f"Component name {taken!r} must be a Python identifier (it is used as a gin name).")
            if taken in _REGISTRY[kind] or taken in _ALIASES[kind]:
                previous = _REGISTRY[kind].get(taken) or _REGISTRY[kind][_ALIASES[kind][taken].new]
                raise DuplicateComponentError(
                    f"{kind} {taken!r} is already registered by {previous.module}; choose another name."
                )
        if kind in _CONTRACTS:
            _CONTRACTS[kind](key, obj)
        configurable = gin.configurable(key, module=kind)(obj)
        _REGISTRY[kind][key] = Entry(kind, key, configurable, _first_doc_line(obj), obj.__module__, tuple(aliases))
        for old in aliases:
            built = gin.external_configurable(_warning_first(configurable, kind, old, key), old, module=kind)
            _ALIASES[kind][old] = Alias(kind, old, key, built)
        return configurable

    return decorate


def _warning_first(obj: Callable[..., Any], kind: str, old: str, new: str) -> Callable[..., Any]:
    """``obj`` behind the rename warning, with ``obj``'s parameters so gin checks the alias's bindings against them."""

    def build(*args: Any, **kwargs: Any) -> Any:
        _warn_renamed(kind, old, new)
        return obj(*args, **kwargs)

    build.__name__ = build.__qualname__ = old
    build.__doc__, build.__module__ = obj.__doc__, obj.__module__
    # without defaults, so the operative config records a default under the new name only: recorded under the alias
    # too, it would override a binding of the new name once the saved config is read again
    params = [p.replace(default=inspect.Parameter.empty) for p in inspect.signature(obj).parameters.values()]
    build.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    # gin and polibench's type checks unwrap to the function whose parameters a binding sets: a class's __init__
    build.__wrapped__ = obj.__init__ if inspect.isclass(obj) else obj  # type: ignore[attr-defined,misc]
    return build


def _warn_renamed(kind: str, old: str, new: str) -> None:
    if (kind, old) not in _WARNED:  # once per process: a sweep builds the same config many times
        _WARNED.add((kind, old))
        log.warning("%s %r is a deprecated name of %s %r (the same component): it still loads, as in the config.gin "
                    "of runs saved before the rename; new gin files write @%s.%s", kind, old, kind, new, kind, new)


def get(kind: str, name: str) -> Callable[..., Any]:
    """The registered callable for ``kind``/``name``; unknown names list the valid ones and the closest."""
    load_plugins()
    _check_kind(kind)
    if name in _ALIASES[kind]:  # a former name builds the component it was renamed to
        alias = _ALIASES[kind][name]
        _warn_renamed(kind, alias.name, alias.new)
        name = alias.new
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


def _sorted_by_kind(table: dict[str, dict[str, T]], kind: str | None) -> list[T]:
    """``table``'s values for every kind (or one), sorted by kind then name; plug-ins loaded first."""
    load_plugins()
    selected = [kind] if kind is not None else list(_KINDS)
    for k in selected:
        _check_kind(k)
    return [table[k][n] for k in selected for n in sorted(table[k])]


def entries(kind: str | None = None) -> list[Entry]:
    """All entries (or one kind's), sorted by kind then name."""
    return _sorted_by_kind(_REGISTRY, kind)


def aliases(kind: str | None = None) -> list[Alias]:
    """Every former name still accepted (or one kind's), sorted by kind then name; :func:`entries` lists none."""
    return _sorted_by_kind(_ALIASES, kind)


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
