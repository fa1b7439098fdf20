"""Number formats and LaTeX escaping shared by the tables, the prose and the tests.

Numbers use the formats of the metric table (``polibench.metric_table``), as the run and sweep tables do, so a
value reads the same in README, results.md and the PDF. Text becomes LaTeX only through :func:`escape`; trusted
LaTeX built here is a :class:`Tex`, which the template passes through unchanged.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from polibench.metric_table import fmt_of
from polibench.viz.captions import join_words, runs_label  # noqa: F401 - the report's words too

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



