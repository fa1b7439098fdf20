"""The one look of the paper's figures: a colour and a marker per policy family, and type sizes read at print size.

A family keeps its colour in every figure (the rejected report's orange meant three policies in three figures), so
figures take colours and markers from :func:`family_of` only. The colours are Okabe and Ito's colour-blind-safe
set, without its yellow (too pale on white paper). Figures are drawn at the text width of ``paper.tex`` and
included at that width, so a font set at 8 pt prints at 8 pt.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec

import matplotlib
from matplotlib.figure import Figure

from report_gen.paper.sources import PaperError

#: The text width of paper.tex (its geometry), in inches.
TEXT_WIDTH = 6.5
#: No text in a figure is set smaller than this (pt).
MIN_FONT_PT = 8
RC = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": MIN_FONT_PT,
      "xtick.labelsize": MIN_FONT_PT, "ytick.labelsize": MIN_FONT_PT, "font.family": "DejaVu Sans",
      "pdf.fonttype": 42, "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 1.4}
#: Lines and marks that are not a policy: zero lines, reference lines, the key to what a mark means.
NEUTRAL = "#555555"
#: The paper's white: hollow marks (a tie) and the rims that keep overlapping marks apart.
BACKGROUND = "white"


@dataclass(frozen=True)
class Family:
    """A policy family as every figure draws it."""

    label: str
    colour: str
    marker: str


FAMILIES: dict[str, Family] = {
    "dp": Family("Diffusion Policy", "#0072B2", "s"),
    "act": Family("ACT", "#56B4E9", "v"),
    "act_matched": Family("ACT, size-matched", "#009E73", "^"),
    "ctm": Family("CTM-ACT", "#D55E00", "o"),
    "ctm_one_tick": Family("CTM-ACT, one tick", "#E69F00", "D"),
    "ctm_variant": Family("CTM-ACT, other configuration", "#CC79A7", "P"),
    "reference": Family("LeRobot implementation", "#000000", "X"),
}

#: Variant (a sweep's name for a whole policy config) -> (family, how the paper names it).
POLICIES: dict[str, tuple[str, str]] = {
    "diffusion": ("dp", "Diffusion Policy"),
    "parity_diffusion": ("dp", "Diffusion Policy"),
    "act": ("act", "ACT"),
    "act_capacity": ("act_matched", "ACT, 4 decoder layers"),
    "parity_act": ("act_matched", "ACT, size-matched"),
    "ctm_act": ("ctm", "CTM-ACT"),
    "ctm_act_unet": ("ctm", "CTM-ACT"),
    "parity_ctm_act": ("ctm", "CTM-ACT"),
    "parity_ctm_act_chosen": ("ctm", "CTM-ACT"),
    "ctm_act_one_tick": ("ctm_one_tick", "CTM-ACT, one tick"),
    "screen_ctm_ticks1": ("ctm_one_tick", "CTM-ACT, one tick"),
    "ctm_act_best": ("ctm_variant", "CTM-ACT, screened"),
    "ctm_act_mlp": ("ctm_variant", "CTM-ACT, MLP synapse"),
    "ctm_act_tick_sync": ("ctm_variant", "CTM-ACT, tick-sync"),
    "ctm_act_carry": ("ctm_variant", "CTM-ACT, state carried across calls"),
    "lerobot_act": ("reference", "LeRobot ACT"),
    "lerobot_diffusion": ("reference", "LeRobot Diffusion Policy"),
}
#: Families of variants named by their screen config (gin/screen_*.gin), by name prefix.
PREFIXES: tuple[tuple[str, str], ...] = (("screen_ctm_", "ctm_variant"), ("screen_act_", "act_matched"))

P = ParamSpec("P")


def family_of(variant: str) -> Family:
    """The family ``variant`` is drawn as; an unknown one is an error, so no figure falls back to a colour of
    its own."""
    if variant in POLICIES:
        return FAMILIES[POLICIES[variant][0]]
    for prefix, family in PREFIXES:
        if variant.startswith(prefix):
            return FAMILIES[family]
    raise PaperError(f"policy {variant!r} has no family: add it to report_gen.paper.style.POLICIES")


def label(variant: str) -> str:
    """How the paper names a policy variant (its own name where the study has no better one)."""
    return POLICIES[variant][1] if variant in POLICIES else variant.replace("_", " ")


def check_distinct(variants: Iterable[str]) -> None:
    """One figure cannot show two variants of one family: they would look the same."""
    seen: dict[Family, str] = {}
    for variant in variants:
        family = family_of(variant)
        if family in seen:
            raise PaperError(f"{seen[family]} and {variant} are both {family.label!r} and would be drawn alike: "
                             "show one of them, or give one its own family in report_gen.paper.style")
        seen[family] = variant


def paper_figure(make: Callable[P, Figure]) -> Callable[P, Figure]:
    """Build a figure under the paper's type sizes (tick labels are made at draw time, so their size is pinned on
    every axes before the rc context closes)."""

    @functools.wraps(make)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with matplotlib.rc_context(RC):
            fig = make(*args, **kwargs)
        for ax in fig.axes:
            ax.tick_params(which="both", labelsize=MIN_FONT_PT)
        return fig

    return wrapper


def save(fig: Figure, path: Path) -> Path:
    """A vector PDF without a creation date, so a rebuild from the same results writes the same file."""
    with matplotlib.rc_context(RC):
        fig.savefig(path, format="pdf", metadata={"CreationDate": None})
    return path
