"""An ablation axis resolved into variants: (name, gin files, gin bindings), one per value.

Three kinds of axis:

- ``policy``: each variant is a whole config (gin/act.gin, gin/diffusion.gin, ...), because a policy's sizes and
  optimiser come with it; ``--base`` is not used, but included files (a budget, an evaluation protocol) follow
  every variant's config all the same.
- a component kind (``synapse``, ``gating``, ``encoder``, ...): the base's parameter that takes a component of
  that kind is rebound to each value. The parameter is found in the parsed base: a binding reachable from
  ``polibench.Experiment`` whose value references a configurable of the kind (``policy.ctm_act.synapse =
  @synapse.unet``), or, where the base leaves it at the policy's code default, a slot the policy class declares
  (its ``SLOTS``, see :mod:`polibench.slots`). None or several candidates is an error that lists the component
  parameters of the base.
- a binding ``selector.param`` (``policy.ctm_act.ticks``): values are gin literals, or component names where the
  binding is a component parameter (``--axis policy.ctm_act.synapse --values unet,mlp``).

Every variant is parsed once here, so a typo fails before any training starts.
"""

from __future__ import annotations

import copy
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import gin
from gin.config import ConfigurableReference

from polibench import registry
from polibench.config import CONFIG_DIR, ConfigError, find_config, parse
from polibench.registry import _closest
from polibench.settings import Experiment
from polibench.slots import ComponentSlot
from polibench.tracks import Track, get_track


class AxisError(ValueError):
    """An axis or value that cannot be swept; the message lists the valid ones."""


@dataclass(frozen=True)
class Variant:
    """One arm of an ablation: its directory-safe name, gin files, and the bindings that make it this arm."""

    name: str
    gin_files: tuple[str, ...]
    gin_params: tuple[str, ...]


@dataclass(frozen=True)
class Axis:
    """What a sweep varies: the axis as given, the binding (or configs) each variant changes, and the variants."""

    name: str
    target: str
    variants: tuple[Variant, ...]


@dataclass(frozen=True)
class Slot:
    """A component slot (:class:`~polibench.slots.ComponentSlot`) at its binding ``selector.param`` in the base."""

    binding: str
    component: ComponentSlot

    @property
    def kind(self) -> str:
        return self.component.kind

    def gin_value(self, value: str, track: Track) -> str:
        """The gin value that puts component(s) ``value`` into this slot."""
        c = self.component
        names = value.split("+")
        if c.form != "list" and len(names) > 1:
            raise AxisError(f"{self.binding} takes one {c.kind}, got {value!r}")
        for name in names:
            registry.get(c.kind, name)  # unknown names raise, listing the registered ones
            if name in c.unfit:
                raise AxisError(f"{c.kind} {name!r} cannot fill {self.binding} (unfit: {', '.join(c.unfit)})")
        refs = [f"@{c.kind}.{name}{'()' if c.call else ''}" for name in names]
        if c.form == "list":
            return f"[{', '.join(refs)}]"
        if c.form == "per_entry":
            return "{" + ", ".join(f"'{entry}': {refs[0]}" for entry in _entries(track, c.serves)) + "}"
        return refs[0]

    def default_values(self) -> list[str]:
        c = self.component
        if c.form == "list":
            raise AxisError(f"{self.binding} takes a list of {c.kind} components: give --values as '+'-joined "
                            "names, e.g. --values l1_chunk+kl,l1_chunk "
                            f"(registered: {', '.join(registry.names(c.kind))})")
        return [n for n in registry.names(c.kind) if n not in c.unfit]


def declared_slots(policy: str) -> dict[str, ComponentSlot]:
    """Binding -> slot for every component slot the registered policy class declares in ``SLOTS``: its own
    parameters as ``policy.<name>.<param>``, a key with a dot (a component it builds by default) as it is."""
    slots: dict[str, ComponentSlot] = getattr(registry.get("policy", policy), "SLOTS", {})
    return {key if "." in key else f"policy.{policy}.{key}": slot for key, slot in slots.items()}


#: The whole config of each policy for ``--axis policy`` (files in the repository's gin folder).
POLICY_CONFIGS: dict[str, str] = {
    "act": "act.gin", "diffusion": "diffusion.gin", "ctm_act": "ctm_act_unet.gin", "mlp_chunk": "mlp_chunk.gin",
}

#: Short names the issue tracker and papers use.
ALIASES: dict[str, str] = {"scheduler": "noise_scheduler"}


@dataclass(frozen=True)
class Base:
    """What the parsed base config builds: its policy, track, and the bindings reachable from the Experiment."""

    files: tuple[str, ...]
    params: tuple[str, ...]
    include: tuple[str, ...]
    policy: str
    track: Track
    bindings: dict[str, Any]
    #: every parameter of every configurable the Experiment reaches, bound or left at its default
    parameters: frozenset[str] = frozenset()

    def slots(self) -> dict[str, Slot]:
        """Every component parameter of this base, by binding: the bound ones, then the policy's code defaults."""
        found = {b: Slot(b, ComponentSlot(v.configurable.module, v.configurable.name, call=v.evaluate))
                 for b, v in self.bindings.items()
                 if isinstance(v, ConfigurableReference) and v.configurable.module in registry.kinds()
                 and b != "polibench.Experiment.policy"}
        found |= {b: Slot(b, c) for b, c in declared_slots(self.policy).items() if _entries(self.track, c.serves)}
        return found

    def describe(self) -> str:
        return " ".join(self.files)


def load_base(gin_files: Sequence[str | Path], gin_params: Sequence[str],
              include: Sequence[str | Path] = ()) -> Base:
    """Parse the base and read what it builds, then leave gin empty again. ``include``: gin files parsed after the
    base and after every variant's own config (budgets, evaluation protocols), so a sweep can change them without
    a bindings list."""
    try:
        included = tuple(str(find_config(f).resolve()) for f in include)
    except ConfigError as exc:
        raise AxisError(f"--include: {exc}") from exc
    files = tuple(str(find_config(f).resolve()) for f in gin_files) + included
    parse(files, gin_params)
    try:
        bindings, reached = _reachable_bindings()
        default_track = inspect.signature(Experiment).parameters["track"].default
        track = get_track(copy.deepcopy(bindings.get("polibench.Experiment.track", default_track)))  # evaluates %X
    finally:
        gin.clear_config()
    policy = bindings.get("polibench.Experiment.policy")
    if not isinstance(policy, ConfigurableReference):
        raise AxisError(f"{' '.join(files)} binds no polibench.Experiment.policy, so there is nothing to ablate")
    return Base(files, tuple(gin_params), included, policy.configurable.name, track, bindings,
                frozenset(p for selector in reached for p in _parameters(selector)))


def resolve(axis: str, values: Sequence[str] | None, base: Base) -> Axis:
    """The variants of ``axis`` (all registered values of a kind when ``values`` is None), each checked by a parse."""
    kind = ALIASES.get(axis, axis)
    if kind == "policy":
        resolved = _policy_axis(values, base.include)
    elif kind in registry.kinds():
        resolved = _slot_axis(axis, _slot_for_kind(kind, base), values, base)
    elif "." in axis:
        slot = base.slots().get(axis)
        resolved = _slot_axis(axis, slot, values, base) if slot else _literal_axis(axis, values, base)
    else:
        kinds = ["policy", *(k for k in registry.kinds() if k != "policy"), *ALIASES]
        raise AxisError(f"unknown axis {axis!r}.{_closest(axis, kinds)} Valid axes: {', '.join(kinds)}, or a "
                        f"binding such as policy.ctm_act.ticks.")
    names = [v.name for v in resolved.variants]
    if len(set(names)) != len(names) or not names:
        raise AxisError(f"axis {axis!r} needs distinct values, got {names}")
    try:
        for variant in resolved.variants:
            parse(variant.gin_files, [*base.params, *variant.gin_params])
    except ConfigError as exc:
        raise AxisError(f"variant {variant.name!r} of axis {axis!r} does not parse: {exc}\n "
                        f"{_closest(axis, list(base.bindings))}".rstrip()) from exc
    finally:
        gin.clear_config()
    return resolved


def split_values(text: str) -> list[str]:
    """Split ``--values`` at top-level commas, so tuples and lists stay whole: ``(64,128),(32,64)`` -> 2 values."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def variant_name(value: str) -> str:
    """A directory-safe label for a value (``(64, 128)`` -> ``64_128``)."""
    return re.sub(r"[^\w.+=-]+", "_", value).strip("_") or "empty"


def _policy_axis(values: Sequence[str] | None, include: tuple[str, ...]) -> Axis:
    values = list(values) if values else [n for n in registry.names("policy") if n in POLICY_CONFIGS]
    variants = []
    for value in values:
        if value.endswith(".gin"):
            path = find_config(value)
        else:
            registry.get("policy", value)  # unknown names raise, listing the registered ones
            if value not in POLICY_CONFIGS:
                raise AxisError(f"policy {value!r} has no whole config for --axis policy; known: "
                                f"{', '.join(POLICY_CONFIGS)} (or give a gin file, e.g. --values gin/ctm_act_mlp.gin)")
            path = CONFIG_DIR / POLICY_CONFIGS[value]
        variants.append(Variant(variant_name(path.stem if value.endswith(".gin") else value),
                                (str(path.resolve()), *include), ()))
    return Axis("policy", "polibench.Experiment.policy (whole configs)", tuple(variants))


def _slot_for_kind(kind: str, base: Base) -> Slot:
    slots = base.slots()
    matches = [s for s in slots.values() if s.kind == kind]
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(f"{b} ({s.kind})" for b, s in sorted(slots.items())) or "(none)"
    if matches:
        raise AxisError(f"{base.describe()} takes a {kind} in several places: "
                        f"{', '.join(s.binding for s in matches)}; choose one with --axis <binding>")
    raise AxisError(f"{base.describe()} (policy {base.policy}, {base.track.name} track) builds no {kind}. "
                    f"Its component parameters: {listed}.")


def _slot_axis(axis: str, slot: Slot, values: Sequence[str] | None, base: Base) -> Axis:
    values = list(values) if values else slot.default_values()
    variants = tuple(Variant(variant_name(v), base.files, (f"{slot.binding} = {slot.gin_value(v, base.track)}",))
                     for v in values)
    return Axis(axis, slot.binding, variants)


def _literal_axis(binding: str, values: Sequence[str] | None, base: Base) -> Axis:
    if not values:
        raise AxisError(f"--axis {binding} is a plain binding: give its values as gin literals, e.g. --values 1,5,10")
    return Axis(binding, binding, tuple(Variant(variant_name(v), base.files, (f"{binding} = {v}",)) for v in values))


def _reachable_bindings() -> tuple[dict[str, Any], set[str]]:
    """``selector.param -> value`` of the parsed config, for the configurables the Experiment reaches by reference,
    and those configurables' selectors.

    Bindings of configurables the base never builds (e.g. ``policy.act.*`` in a CTM-ACT config) are left out.
    """
    todo, seen, found = [("", "polibench.Experiment")], set(), {}
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        scope, selector = key
        for param, value in gin.config._CONFIG.get(key, {}).items():  # gin has no public reader of raw bindings
            found[f"{scope + '/' if scope else ''}{selector}.{param}"] = value
            todo += [ref.config_key for ref in _references(value)]
    return found, {selector for scope, selector in seen if not scope}


def _parameters(selector: str) -> list[str]:
    """``selector.param`` for every parameter of a registered configurable (none for an unknown selector)."""
    configurable = gin.config._REGISTRY.get_match(selector)  # gin has no public reader of a configurable's function
    if configurable is None:
        return []
    return [f"{selector}.{p}" for p in inspect.signature(configurable.wrapped).parameters if p != "self"]


def _references(value: Any) -> list[ConfigurableReference]:
    if isinstance(value, ConfigurableReference):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [ref for item in value for ref in _references(item)]
    return []


def _entries(track: Track, serves: str | None) -> list[str]:
    """The track's observation entries of type ``serves`` (any track serves None)."""
    if serves is None:
        return list(track.obs_shapes)
    want_vector = serves == "vector"
    return [k for k, shape in sorted(track.obs_shapes.items()) if (len(shape) == 1) == want_vector]
