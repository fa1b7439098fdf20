"""Component slots: the parameters of a policy that take registered components, declared by the policy itself.

A policy class lists them in ``SLOTS`` (parameter -> :class:`ComponentSlot`). Its ``__init__`` builds a parameter
left at None from the slot's default, and ``polibench ablate --axis <kind>`` finds the binding to vary in the same
declaration (:mod:`polibench.sweep.axes`), so a default is written once and a plugin policy is swept by kind like a
built-in one. A key with a dot is the binding of a component the policy builds by default rather than one of its
own parameters (ACT's ``encoder.image_tokens.backbone``, the backbone of its image entries' default encoder).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

from polibench import registry


@dataclass(frozen=True)
class ComponentSlot:
    """Where components of one kind plug in, what is built when nothing is given, and the value's shape.

    Args:
        kind: registry kind of the component.
        default: registered name built when the parameter is None (a tuple of names for a ``list`` slot).
        call: the parameter takes an instance (gin ``@kind.name()``) rather than a factory (``@kind.name``).
        form: ``one`` component; a ``list`` of them; or ``per_entry``, a dict giving each observation entry the
            slot serves its own component.
        serves: the observation entries the component is built for; a track with none never builds it.
        unfit: registered names that cannot fill this slot (e.g. the image encoder for vector entries).
    """

    kind: str
    default: str | tuple[str, ...]
    call: bool = False
    form: Literal["one", "list", "per_entry"] = "one"
    serves: Literal["vector", "image"] | None = None
    unfit: tuple[str, ...] = ()

    def build(self, value: Any, entries: Sequence[str] = ()) -> Any:
        """The parameter's value: ``value`` when given, else the default (a factory, or an instance with ``call``;
        one per name of a ``list``). A ``per_entry`` dict gets the default for each of ``entries`` it leaves out."""
        if self.form == "per_entry":
            return {**{entry: self._one(str(self.default)) for entry in entries}, **(value or {})}
        if value is not None:
            return value
        if self.form == "list":
            return [self._one(name) for name in self.default]
        return self._one(str(self.default))

    def _one(self, name: str) -> Any:
        return registry.create(self.kind, name) if self.call else registry.get(self.kind, name)
