"""How one committed value prints in the paper, shared by the macros and the tables so both print it alike.

Each format is a small object that turns the JSON value a key points at into LaTeX: a mean with its 95% interval
(results.json, metrics.json), a paired difference with its interval and a verdict word (verdicts*.json), or a
plain number. Decimals are the metric table's (``polibench.metric_table``), as in RESULTS.md. Statistics are set
in math mode, so a minus prints as a minus.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from polibench.metric_table import METRICS
from polibench.sweep.verdicts import claim_of, verdict_of
from report_gen.paper.latex import escape

#: The metrics the paper reports: (results.json key, verdicts*.json key, word in macro names).
METRIC_KEYS: tuple[tuple[str, str, str], ...] = (
    ("success_rate", "success", "Success"),
    ("avg_max_coverage", "max_coverage", "Coverage"),
    ("jerk", "jerk", "Jerk"),
)
#: verdicts*.json metric key -> results.json metric key.
BY_VERDICT_KEY = {verdict: result for result, verdict, _ in METRIC_KEYS}


def number(metric: str, value: float, signed: bool = False) -> str:
    """``value`` with the decimals of ``metric`` (a results.json key), as math."""
    fmt = METRICS[metric].fmt.replace("{:", "{:+") if signed else METRICS[metric].fmt
    return fmt.format(value)


def math(text: str) -> str:
    return rf"\ensuremath{{{text}}}"


def with_interval(value: str, low: str, high: str) -> str:
    """``value [low, high]`` as math that may break after the interval's comma: an interval that ends a line would
    otherwise run into the margin."""
    return rf"{value}\ [{low},\allowbreak\ {high}]"


@dataclass(frozen=True)
class Stat:
    """A results.json / metrics.json statistic: ``mean [ci_low, ci_high]`` (``interval=False``: the mean)."""

    metric: str
    interval: bool = True

    def __call__(self, stat: Mapping[str, Any]) -> str:
        mean = number(self.metric, stat["mean"])
        if not self.interval:
            return math(mean)
        return math(with_interval(mean, number(self.metric, stat["ci_low"]), number(self.metric, stat["ci_high"])))


@dataclass(frozen=True)
class Difference:
    """A paired comparison of verdicts*.json: ``difference [low, high]``, signed."""

    metric: str

    def __call__(self, comparison: Mapping[str, Any]) -> str:
        shown, low, high = difference_parts(self.metric, comparison)
        return math(with_interval(shown, low, high))


@dataclass(frozen=True)
class HalfWidth:
    """Half the width of a paired comparison's difference interval, ``\\pm w``: the smallest difference a screen
    of that size could tell from a tie."""

    metric: str

    def __call__(self, comparison: Mapping[str, Any]) -> str:
        low, high = comparison["difference_ci"]
        return math(r"\pm " + number(self.metric, (high - low) / 2))


def difference_parts(metric: str, comparison: Mapping[str, Any]) -> tuple[str, str, str]:
    """A paired comparison's difference and its interval ends, signed, with ``metric``'s decimals (as text, for
    LaTeX or markdown)."""
    low, high = (number(metric, x, signed=True) for x in comparison["difference_ci"])
    return number(metric, comparison["difference"], signed=True), low, high


@dataclass(frozen=True)
class Verdict:
    """The paired verdict of a comparison: better, worse or tie (``polibench.sweep.verdicts.verdict_of``, the one
    rule of RESULTS.md). ``direction`` is the metric entry's ``better`` (+1 higher is better)."""

    direction: int

    def __call__(self, comparison: Mapping[str, Any]) -> str:
        return verdict_of(comparison, self.direction)


@dataclass(frozen=True)
class Claim:
    """What the text may state of a comparison: the paired verdict where the seed-level test agrees, else a tie
    (``polibench.sweep.verdicts.claim_of``)."""

    direction: int

    def __call__(self, comparison: Mapping[str, Any]) -> str:
        return claim_of(comparison, self.direction)


@dataclass(frozen=True)
class SeedTest:
    """The seed-level test of a comparison: the difference of seed means with its interval and Welch's p, or
    "none" with one training seed a side."""

    metric: str

    def __call__(self, comparison: Mapping[str, Any]) -> str:
        test = comparison["seed_test"]
        if test is None:
            return "none (one training seed)"
        shown, low, high = difference_parts(self.metric, test)  # a difference of seed means with its interval
        p = test["p"]
        return math(with_interval(shown, low, high) + r",\ " + ("p < 0.001" if p < 0.001 else f"p = {p:.2g}"))


@dataclass(frozen=True)
class Plain:
    """A count, size or time: ``fmt`` applied to the value times ``scale`` (``{:.2f}M`` of 1e-6 for parameters)."""

    fmt: str
    scale: float = 1.0

    def __call__(self, value: float) -> str:
        return self.fmt.format(value * self.scale)


@dataclass(frozen=True)
class Length:
    """How many entries a list holds (the evaluation seeds of a run: its episodes)."""

    def __call__(self, items: list[Any]) -> str:
        return str(len(items))


@dataclass(frozen=True)
class Text:
    """A string of a file (a processor's name), escaped for LaTeX."""

    def __call__(self, value: str) -> str:
        return escape(value)


COUNT = Plain("{:,.0f}")
PERCENT = Plain(r"{:.1f}\%", 100.0)
MILLIONS = Plain("{:.2f}M", 1e-6)
MILLISECONDS = Plain("{:.2f}", 1e3)
RATIO = Plain("{:.1f}")
LENGTH = Length()
TEXT = Text()
