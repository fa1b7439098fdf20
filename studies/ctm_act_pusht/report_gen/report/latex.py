"""The LaTeX side: render the Jinja2 template and compile it with latexmk.

The template uses delimiters that cannot clash with LaTeX braces (``((* block *))``, ``((( value )))``,
``((= comment =))``), and every printed value passes through :func:`escape` unless it is a :class:`Tex`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jinja2

from report_gen.report.format import Tex, breakable, escape, join_words
from report_gen.report.inputs import ReportError

TEMPLATE_DIR = Path(__file__).parent
TEMPLATE = "template.tex.j2"
APT_PACKAGES = ("texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended "
                "latexmk")
COMPILE_TIMEOUT_S = 300


def render(context: dict[str, Any]) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        block_start_string="((*", block_end_string="*))",
        variable_start_string="(((", variable_end_string=")))",
        comment_start_string="((=", comment_end_string="=))",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False, finalize=escape,
    )
    env.filters["latex"] = escape
    env.filters["tex"] = Tex
    env.filters["breakable"] = breakable
    env.filters["join_words"] = join_words
    return env.get_template(TEMPLATE).render(**context)


def require_latexmk() -> None:
    """Fail before any work when the TeX tools are missing, naming the packages that provide them."""
    missing = [tool for tool in ("latexmk", "pdflatex", "bibtex") if shutil.which(tool) is None]
    if missing:
        raise ReportError(f"{', '.join(missing)} not found: install TeX Live, e.g. `apt-get install {APT_PACKAGES}`, "
                          "or build the LaTeX source only with --no-compile")


def compile_pdf(tex: Path) -> Path:
    """latexmk -pdf in the .tex file's folder; the PDF beside it. On failure, the error and the .log to read."""
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", tex.name]
    log = tex.with_suffix(".log")
    try:
        proc = subprocess.run(cmd, cwd=tex.parent, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise ReportError(f"latexmk ran over {COMPILE_TIMEOUT_S} s on {tex}; see {log}") from exc
    pdf = tex.with_suffix(".pdf")
    if proc.returncode != 0 or not pdf.exists():
        cause = _first_error(log) or f"latexmk exit status {proc.returncode}"
        raise ReportError(f"LaTeX compilation of {tex} failed ({cause}); the full log is {log}")
    overfull = overfull_boxes(log)
    if overfull:
        raise ReportError(f"{tex} compiled with {len(overfull)} overfull box(es), text running into the margin "
                          f"({'; '.join(overfull[:3])}); the full log is {log}")
    return pdf


def overfull_boxes(log: Path) -> list[str]:
    """TeX's "Overfull \\hbox ... at lines a--b" warnings of the last run (the layout the PDF has)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return re.findall(r"^Overfull \\[hv]box \((?:[^)]*)\) .*?lines? [\d-]+", text, flags=re.MULTILINE)


def _first_error(log: Path) -> str | None:
    """The first error of a TeX log: a ``! message`` line or, with -file-line-error, ``file.tex:12: message``."""
    if not log.exists():
        return None
    match = re.search(r"^(?:!|\S+\.tex:\d+:) *(.+)$", log.read_text(errors="replace"), flags=re.MULTILINE)
    return match.group(0).strip() if match else None
