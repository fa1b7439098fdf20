"""Shared look of the run-level figures: one colour per policy, panel sizes, and the heatmap colour maps."""

from __future__ import annotations

#: Policy (registry name) -> colour, so ACT, Diffusion Policy and CTM-ACT look the same in every figure.
POLICY_COLOURS = {"act": "#1f77b4", "diffusion": "#2ca02c", "ctm_act": "#d62728", "mlp_chunk": "#7f7f7f"}
FALLBACK_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")

PANEL = 3.2  # inches per panel side
DPI = 110
ACTIVATION_CMAP = "RdBu_r"
ATTENTION_CMAP = "magma"
GOAL_COLOUR = "#90ee90"  # gym-pusht draws the goal LightGreen
BLOCK_COLOUR = "#778899"  # and the block LightSlateGray
EASY_HARD_COLOURS = ("#4c72b0", "#dd8452")


def run_colour(policy_name: str, index: int) -> str:
    """The policy's colour, else a distinct fallback by the run's position in the comparison."""
    return POLICY_COLOURS.get(policy_name, FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)])
