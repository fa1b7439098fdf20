"""Words for figure captions: lists as prose, run directories as a reader names them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence


def join_words(items: Sequence[str], conjunction: str = "and") -> str:
    """"a", "a and b", "a, b and c": a list as prose."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


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
