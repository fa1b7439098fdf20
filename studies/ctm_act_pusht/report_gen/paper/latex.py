"""The LaTeX side: text escaped for TeX, comments stripped for the checks, and latexmk run on the paper.

Text from files (variant names, commands, screen names) becomes LaTeX only through :func:`escape`. The compiled
paper must have no overfull boxes: text running into the margin is a fault a reader sees on paper.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from report_gen.paper.sources import PaperError

APT_PACKAGES = ("texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended "
                "latexmk")
COMPILE_TIMEOUT_S = 600
_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
    "'": r"\textquotesingle{}", '"': r"\textquotedbl{}", "`": r"\textasciigrave{}",
}
#: A ``%`` that starts a comment (not an escaped ``\%``) and the rest of its line.
_COMMENT = re.compile(r"(?<!\\)%.*$", flags=re.MULTILINE)


def escape(value: object) -> str:
    """Any value as LaTeX text, every special character escaped."""
    return "".join(_SPECIAL.get(c, c) for c in str(value))


def breakable(value: object) -> str:
    """Escaped text that may break after ``/ _ , = -`` and spaces (commands and paths in typewriter type)."""
    return "".join(escape(c) + (r"\allowbreak{}" if c in "/_,=-" else "") for c in str(value))


def strip_comments(tex: str) -> str:
    """The source without its comments, line numbers kept (a comment is not a use of a macro)."""
    return _COMMENT.sub("", tex)


def require_latexmk() -> None:
    """Fail before any work when the TeX tools are missing, naming the packages that provide them."""
    missing = [tool for tool in ("latexmk", "pdflatex", "bibtex") if shutil.which(tool) is None]
    if missing:
        raise PaperError(f"{', '.join(missing)} not found: install TeX Live, e.g. `apt-get install {APT_PACKAGES}`, "
                         "or write the sources only with --no-pdf")


def compile_pdf(tex: Path, jobname: str) -> Path:
    """latexmk -pdf in the .tex file's folder, the PDF ``jobname.pdf`` beside it with TeX's side files (the
    ``.fls`` recorder lists every file the PDF was made from). On failure: the first error and the .log to read."""
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "-recorder",
           f"-jobname={jobname}", tex.name]
    log = tex.with_name(f"{jobname}.log")
    try:
        proc = subprocess.run(cmd, cwd=tex.parent, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        raise PaperError(f"latexmk ran over {COMPILE_TIMEOUT_S} s on {tex}; see {log}") from exc
    pdf = tex.with_name(f"{jobname}.pdf")
    if proc.returncode != 0 or not pdf.exists():
        raise PaperError(f"LaTeX compilation of {tex} failed ({first_error(log) or proc.returncode}); the full log "
                         f"is {log}")
    overfull = overfull_boxes(log)
    if overfull:
        raise PaperError(f"{tex} compiled with {len(overfull)} overfull box(es), text running into the margin "
                         f"({'; '.join(overfull[:3])}); the full log is {log}")
    return pdf


def overfull_boxes(log: Path) -> list[str]:
    """TeX's "Overfull \\hbox ... at lines a--b" warnings of the last run (the layout the PDF has)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return re.findall(r"^Overfull \\[hv]box \((?:[^)]*)\) .*?lines? [\d-]+", text, flags=re.MULTILINE)


def first_error(log: Path) -> str | None:
    """The first error of a TeX log: a ``! message`` line or, with -file-line-error, ``file.tex:12: message``."""
    if not log.exists():
        return None
    match = re.search(r"^(?:!|\S+\.tex:\d+:) *(.+)$", log.read_text(errors="replace"), flags=re.MULTILINE)
    return match.group(0).strip() if match else None
