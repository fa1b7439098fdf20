"""The paper's build: generated sources beside a copy of the authored tex, checks, then latexmk.

``OUT/`` receives ``paper.tex`` and ``references.bib`` (copied from ``studies/ctm_act_pusht/paper``) and
``generated/`` (numbers.tex, tab_*.tex, fig_*); the PDF is ``OUT/CTM-ACT_PushT_report.pdf``. Before any file is
written the text is checked: its claims against the committed verdicts, and every macro it uses against the ones
numbers.py defines, so a flipped result or a misspelt macro fails with the line to fix, not in TeX's log.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from report_gen.paper import claims, figures, latex, numbers, tables
from report_gen.paper.sources import CPU, STUDY, PaperError

PAPER_DIR = STUDY / "paper"
PAPER_TEX = PAPER_DIR / "paper.tex"
REFERENCES = PAPER_DIR / "references.bib"
PDF_NAME = "CTM-ACT_PushT_report"
GENERATED = "generated"
_GENERATED_USE = re.compile(r"\\(?:input|includegraphics)(?:\[[^\]]*\])?\{(" + GENERATED + r"/[^}]+)\}")


def check(paper: Path, study: Path = STUDY, claims_file: Path = claims.CLAIMS) -> None:
    """Raise :class:`PaperError` listing every failing claim and every undefined macro of ``paper``."""
    tex = paper.read_text()
    problems = claims.paper_failures(paper, claims.load(claims_file), study / CPU)
    problems += numbers.undefined(tex, numbers.table(study), paper.name)
    if problems:
        raise PaperError(f"{paper} fails its checks:\n  " + "\n  ".join(problems))


def write_sources(out: Path, paper: Path = PAPER_TEX, study: Path = STUDY, claims_file: Path = claims.CLAIMS) -> Path:
    """Check the paper, then write its generated sources and copy it with its bibliography into ``out``; returns
    the tex to compile. A ``generated/`` file the tex names but the build did not write is an error."""
    check(paper, study, claims_file)
    generated = out / GENERATED
    shutil.rmtree(generated, ignore_errors=True)
    generated.mkdir(parents=True)
    numbers.write(generated / "numbers.tex", study)
    tables.write(generated, study)
    figures.write(generated, study)
    tex = out / paper.name
    for source, target in ((paper, tex), (REFERENCES, out / REFERENCES.name)):
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
    missing = [name for name in _GENERATED_USE.findall(latex.strip_comments(paper.read_text()))
               if not any((out / name).parent.glob(Path(name).name + "*"))]
    if missing:
        raise PaperError(f"{paper} uses {', '.join(missing)}, which the build does not write: name a file of "
                         f"{generated} ({', '.join(sorted(p.name for p in generated.iterdir()))})")
    return tex


def build(out: Path, pdf: bool = True, paper: Path = PAPER_TEX, study: Path = STUDY,
          claims_file: Path = claims.CLAIMS) -> Path:
    """Write the sources into ``out`` and, with ``pdf``, compile them; returns the PDF (or the tex)."""
    if pdf:
        latex.require_latexmk()
    tex = write_sources(out, paper, study, claims_file)
    return latex.compile_pdf(tex, PDF_NAME) if pdf else tex
