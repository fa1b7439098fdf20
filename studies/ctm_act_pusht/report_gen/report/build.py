"""`build_report`: sweep and run directories in, CTM-ACT_PushT_report.pdf out.

Everything is written into ``OUT/build`` (LaTeX source, bibliography, figures, TeX's logs, kept for inspection);
only a successful compilation moves the PDF to ``OUT/CTM-ACT_PushT_report.pdf``, in one rename, so the output
is never a half-written or stale-but-fresh-looking file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Sequence

from matplotlib.figure import Figure

from report_gen.report.anchors import DEFAULT_ANCHORS, DEFAULT_HUMAN, load_anchors, load_human
from report_gen.report.context import build_context
from report_gen.report.inputs import load_inputs
from report_gen.report.latex import TEMPLATE_DIR, compile_pdf, render, require_latexmk
from report_gen.report.speed import load_speed
from report_gen.report.viz import copy_viz, load_viz

REPORT_NAME = "CTM-ACT_PushT_report"
DEFAULT_TITLE = "CTM-ACT on Push-T: Continuous Thought Machine decoding for action-chunking imitation learning"


def build_report(inputs: list[Path], out_dir: Path, viz_dirs: list[Path] = [], title: str = DEFAULT_TITLE,
                 compile: bool = True, speed_files: Sequence[Path] = (), anchors: Path | None = DEFAULT_ANCHORS,
                 human: Path | None = DEFAULT_HUMAN) -> Path:
    """Write the report's LaTeX source (and, with ``compile``, its PDF) for the given sweep and run directories,
    with a speed table when ``speed_files`` (pytest-benchmark JSON) are given, the published reference points
    of ``anchors`` beside the headline (None: no such table) and the human demonstrations' own scores of
    ``human`` (from ``python -m polibench.evaluation.demos``; None: not stated).

    Returns the PDF's path, or the .tex path when not compiling. Raises ``ReportError`` for bad inputs, missing
    TeX tools or a failed compilation (naming the .log to read).
    """
    if compile:
        require_latexmk()
    loaded = load_inputs([Path(p) for p in inputs])
    viz = load_viz([Path(d) for d in viz_dirs])
    speed = load_speed([Path(f) for f in speed_files])
    out_dir = Path(out_dir)
    build = out_dir / "build"
    figures = build / "figures"
    shutil.rmtree(figures, ignore_errors=True)
    figures.mkdir(parents=True)

    def save(fig: Figure, stem: str) -> str:
        # no creation date: a rebuild from the same results writes the same figure files, so commits show data changes
        fig.savefig(figures / f"{stem}.pdf", format="pdf", metadata={"CreationDate": None})
        return f"{stem}.pdf"

    context = build_context(loaded, viz, copy_viz(viz, figures), title, save, speed,
                            load_anchors(Path(anchors)) if anchors else [], load_human(Path(human)) if human else None)
    tex = build / f"{REPORT_NAME}.tex"
    tex.write_text(render(context))
    shutil.copyfile(TEMPLATE_DIR / "references.bib", build / "references.bib")
    if not compile:
        return tex
    pdf = out_dir / f"{REPORT_NAME}.pdf"
    os.replace(compile_pdf(tex), pdf)
    return pdf
