"""``PYTHONPATH=studies/ctm_act_pusht python -m report_gen.paper --out DIR [--no-pdf]``: the study's paper from
its committed results (DIR/CTM-ACT_PushT_report.pdf, its sources beside it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from report_gen.paper.build import build
from report_gen.paper.sources import PaperError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m report_gen.paper", description=__doc__)
    parser.add_argument("--out", type=Path, required=True,
                        help="build directory: paper.tex and references.bib copied in, generated/, the PDF")
    parser.add_argument("--no-pdf", action="store_true", help="write the sources only (no TeX needed)")
    args = parser.parse_args(argv)
    try:
        path = build(args.out, pdf=not args.no_pdf)
    except PaperError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
