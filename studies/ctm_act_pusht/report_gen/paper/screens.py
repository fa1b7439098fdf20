"""The parity screens as the paper reads them: each ``verdicts_<short>.json`` of a screen against its base.

A screen is a ``gin/screen_*.gin`` config run in the ``parity_screens`` sweep and compared with its base
(``polibench verdicts ... --variant screen_X --against BASE --out verdicts_<short>``). Its name in the paper is the
one its gin file gives in its first line (``# Parity screen 'training: warm start': ...``), written with the
hypothesis before the run; screens land one by one, so whatever verdicts are committed is what the paper shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report_gen.paper.sources import REPO, PaperError, read

SWEEP = "parity_screens"
#: Variants whose verdicts files are screens (the others, such as the bases' comparison, are not).
SCREEN_PREFIX = "screen_"
_NAME = re.compile(r"^# Parity screen '([^']+)'")


@dataclass(frozen=True)
class Screen:
    """One committed screen: its verdicts file (``verdicts_<short>.json``) against its single base."""

    short: str
    label: str
    variant: str
    base: str
    path: Path
    doc: dict[str, Any]

    def comparison(self, metric: str) -> dict[str, Any]:
        """The paired comparison with the base on ``metric`` (a verdicts*.json key)."""
        return self.doc["metrics"][metric]["vs"][self.base]

    @property
    def seeds(self) -> int:
        """Training seeds a side (the seed-level test's count; one where there is no such test)."""
        test = self.comparison("success").get("seed_test")
        return min(test["seeds"]) if test else 1

    @property
    def title(self) -> str:
        """The paper's name for the row: the screen's name, and its seeds where it has more than one, so that a
        screen repeated on more seeds reads apart from its first reading."""
        return self.label if self.seeds == 1 else f"{self.label}, {self.seeds} seeds"


def load_screens(sweep_dir: Path) -> list[Screen]:
    """Every committed screen of the sweep, in the order of their verdicts files' names."""
    spec = read(sweep_dir / "sweep.json")
    screens = []
    for path in sorted(sweep_dir.glob("verdicts_*.json")):
        doc = read(path)
        if not doc["variant"].startswith(SCREEN_PREFIX):
            continue
        bases = {b for entry in doc["metrics"].values() for b in entry["vs"]}
        if len(bases) != 1:
            raise PaperError(f"{path} compares {doc['variant']} with {sorted(bases)}: a screen has one base; write "
                             "each comparison to its own verdicts file")
        screens.append(Screen(path.stem.removeprefix("verdicts_"), screen_label(spec, doc["variant"]),
                              doc["variant"], bases.pop(), path, doc))
    return screens


def screen_label(spec: dict[str, Any], variant: str) -> str:
    """The screen's name from its gin file's first line, else the variant's own name."""
    files = spec.get("variants", {}).get(variant, {}).get("gin_files", [])
    gin = REPO / files[0] if files else None
    first = gin.read_text().splitlines()[0] if gin and gin.is_file() else ""
    match = _NAME.match(first)
    return match.group(1) if match else variant
