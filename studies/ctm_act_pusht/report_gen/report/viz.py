"""Visualisation directories: figures made elsewhere, described by a figures.json manifest, embedded as they are.

Manifest: ``{"run": str, "figures": [{"file": "x.png", "title": str, "caption": str}]}``; a figure drawn from the
evaluation episodes of other runs than ``run`` lists them as ``"episodes": [run dirs]``, and one may carry the
numbers it shows as ``"facts": {...}`` (``polibench viz`` writes them), which the report words. Everything is checked
before the report is written, so a bad manifest fails fast with the file to fix.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polibench.io import JSONFileError, read_json
from report_gen.report.inputs import ReportError

MANIFEST = "figures.json"
#: What pdflatex's graphicx can include.
IMAGE_TYPES = (".png", ".pdf", ".jpg", ".jpeg")


@dataclass(frozen=True)
class VizFigure:
    run: str
    source: Path
    title: str
    caption: str
    #: run directories whose evaluation episodes the figure shows, where they are not ``run``'s
    episodes: tuple[str, ...] = ()
    #: numbers read off the drawn data (``polibench.viz.run.ticks_facts`` and ``attention_facts``)
    facts: dict[str, Any] = field(default_factory=dict)


def load_viz(viz_dirs: list[Path]) -> list[VizFigure]:
    figures = []
    for d in map(Path, viz_dirs):
        manifest = d / MANIFEST
        if not manifest.exists():
            raise ReportError(f"visualisation directory {d} has no {MANIFEST} manifest")
        try:
            doc = read_json(manifest)
            entries = [(str(f["file"]), str(f.get("title", "")), str(f.get("caption", "")),
                        tuple(map(str, f.get("episodes", []))), dict(f.get("facts", {}))) for f in doc["figures"]]
            run = str(doc.get("run", d.name))
        except (JSONFileError, KeyError, TypeError) as exc:
            raise ReportError(f"{manifest} is not a figures manifest "
                              f'{{"run": ..., "figures": [{{"file", "title", "caption"}}]}}: {exc}') from exc
        for file, title, caption, episodes, facts in entries:
            source = d / file
            if not source.is_file():
                raise ReportError(f"{manifest} lists {file}, which is not a file in {d}")
            if source.suffix.lower() not in IMAGE_TYPES:
                raise ReportError(f"{source}: pdflatex cannot include {source.suffix!r} files; use one of "
                                  f"{', '.join(IMAGE_TYPES)}")
            figures.append(VizFigure(run, source, title, caption, episodes, facts))
    return figures


def copy_viz(figures: list[VizFigure], dest: Path) -> list[str]:
    """Copy each figure into ``dest`` under a LaTeX-safe name; returns the names, in order."""
    names = []
    for i, fig in enumerate(figures):
        name = f"viz{i:03d}{fig.source.suffix.lower()}"
        shutil.copyfile(fig.source, dest / name)
        names.append(name)
    return names
