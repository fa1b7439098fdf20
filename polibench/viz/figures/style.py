"""Shared look of the run-level figures: one colour per policy, panel sizes, the heatmap colour maps, and the
report style (figures drawn at the report's width, so their text is read at the size it was set in)."""

from __future__ import annotations

import functools
from typing import Callable, ParamSpec

import matplotlib
from matplotlib.figure import Figure

#: Policy (registry name) -> colour, so ACT, Diffusion Policy and CTM-ACT look the same in every figure.
POLICY_COLOURS = {"act": "#1f77b4", "diffusion": "#2ca02c", "ctm_act": "#d62728", "mlp_chunk": "#7f7f7f"}
FALLBACK_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")

PANEL = 3.2  # inches per panel side
DPI = 110
ACTIVATION_CMAP = "RdBu_r"
ATTENTION_CMAP = "magma"
GOAL_COLOUR = "#90ee90"  # gym-pusht draws the goal LightGreen
BLOCK_COLOUR = "#778899"  # and the block LightSlateGray

#: The report includes a figure at its line width (~16 cm) and at most 0.4 of the text height: a figure drawn
#: this wide and at most this tall is shrunk little, so 7-8 pt text stays 6-7 pt on the page.
REPORT_WIDTH = 7.0  # inches
REPORT_MAX_HEIGHT = 4.3
REPORT_DPI = 200  # sharp on paper at that width
REPORT_RC = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
             "legend.title_fontsize": 7, "figure.titlesize": 9, "xtick.labelsize": 7, "ytick.labelsize": 7}

P = ParamSpec("P")


def run_colour(policy_name: str, index: int) -> str:
    """The policy's colour, else a distinct fallback by the run's position in the comparison."""
    return POLICY_COLOURS.get(policy_name, FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)])


def report_figure(make: Callable[P, Figure]) -> Callable[P, Figure]:
    """Build the figure under the report's font sizes. Tick labels are made lazily at draw time, after the rc
    context has closed, so their size is pinned on every axes here."""

    @functools.wraps(make)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with matplotlib.rc_context(REPORT_RC):
            fig = make(*args, **kwargs)
        for ax in fig.axes:
            ax.tick_params(which="both", labelsize=REPORT_RC["xtick.labelsize"])
        return fig

    return wrapper
