"""The settings a committed run trained with, read from its operative config (``config.gin``, which polibench writes
with every binding the run used, defaults included), so the recipe-and-size table states what ran, not what a
config file meant to set."""

from __future__ import annotations

import re
from pathlib import Path

from report_gen.paper.sources import PaperError

_BINDING = re.compile(r"^([\w./]+)\s*=\s*(.*)$")


def bindings(config: Path) -> dict[str, str]:
    """``name -> value`` of an operative config, scopes and module prefixes dropped (``ctm_act.dim``,
    ``TrainConfig.lr``), values continued over indented lines joined, and gin macros (``%HORIZON``) resolved."""
    if not config.is_file():
        raise PaperError(f"{config} is missing: the run directory is incomplete (rerun or copy the run again)")
    entries: dict[str, str] = {}
    last = None
    for line in config.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and last:
            entries[last] += " " + line.strip()
            continue
        match = _BINDING.match(line)
        if match:
            last = ".".join(match.group(1).rsplit("/", 1)[-1].split(".")[-2:])
            entries[last] = match.group(2).strip()
    return {name: _resolve(value, entries) for name, value in entries.items()}


def _resolve(value: str, entries: dict[str, str]) -> str:
    return entries.get(value[1:], value) if value.startswith("%") else value


def readable(value: str) -> str:
    """A gin value as the paper prints it: ``'fp32'`` -> ``fp32``, ``@synapse.unet`` -> ``unet``."""
    if value.startswith("@"):
        return value.rsplit(".", 1)[-1].removesuffix("()")
    return value.strip("'\"")
