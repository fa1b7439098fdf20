"""Number formats and LaTeX escaping shared by the tables, the prose and the tests.

Numbers use the formats of the metric table (``polibench.metric_table``), as the run and sweep tables do, so a
value reads the same in README, results.md and the PDF. Text becomes LaTeX only through :func:`escape`; trusted
LaTeX built here is a :class:`Tex`, which the template passes through unchanged.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from polibench.metric_table import fmt_of

_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
    "-": "-{}", "'": r"\textquotesingle{}", '"': r"\textquotedbl{}", "`": r"\textasciigrave{}",
    "×": r"$\times$", "±": r"$\pm$", "³": r"$^3$", "²": r"$^2$", "–": "--", "—": "---",
}


class Tex(str):
    """A LaTeX fragment built by this package from escaped parts: the template does not escape it again."""


def escape(value: Any) -> str:
    """Any value as LaTeX text: every special character escaped (a :class:`Tex` is returned as is)."""
    if isinstance(value, Tex):
        return value
    return "".join(_SPECIAL.get(c, c) for c in str(value))


def breakable(value: Any) -> Tex:
    """Escaped text that may break after ``. / _ , =`` (commands and paths in typewriter type have no spaces to
    break at)."""
    return Tex("".join(escape(c) + (r"\allowbreak{}" if c in "./_,=" else "") for c in str(value)))


def join_words(items: Sequence[str], conjunction: str = "and") -> str:
    """"a", "a and b", "a, b and c": a list as prose."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def count_words(n: int, noun: str) -> str:
    """"1 run", "3 runs": a count with its noun in the right number."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def fmt_value(metric: str, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return fmt_of(metric).format(value)


def fmt_interval(metric: str, stat: Mapping[str, Any] | None) -> str:
    """``mean [low, high]`` as in the sweep's results.md, or ``-`` where the metric was not measured."""
    if not stat or stat.get("mean") is None or not math.isfinite(stat["mean"]):
        return "-"
    return (f"{fmt_value(metric, stat['mean'])} [{fmt_value(metric, stat.get('ci_low'))}, "
            f"{fmt_value(metric, stat.get('ci_high'))}]")


def _seed_words(seeds: Sequence[int]) -> str:
    """"seed 0", "seeds 0-2", "seeds 0, 2": training seeds, consecutive ones as a range."""
    seeds = sorted(seeds)
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    if seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return f"seeds {', '.join(map(str, seeds))}"


def runs_label(runs: Sequence[str | Path]) -> str:
    """Run directories as a reader names them: ``SWEEP/variants/NAME/seedK`` becomes "SWEEP, NAME, seed K" (seeds of
    one variant merged: "halting_pe3, predicted_error, seeds 0-2"); any other directory keeps its last two path
    parts ("weights/ctm_act_unet"). Full paths are provenance for the README, not words for a caption."""
    groups: dict[str, list[int]] = {}
    for run in map(Path, runs):
        parts = run.parts
        if len(parts) >= 4 and parts[-3] == "variants" and re.fullmatch(r"seed\d+", parts[-1]):
            groups.setdefault(f"{parts[-4]}, {parts[-2]}", []).append(int(parts[-1][4:]))
        else:
            groups.setdefault("/".join(parts[-2:]), [])
    return "; ".join(f"{key}, {_seed_words(seeds)}" if seeds else key for key, seeds in groups.items())
