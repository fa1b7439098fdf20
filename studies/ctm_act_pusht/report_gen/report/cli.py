"""`polibench report SWEEP_OR_RUN_DIRS... --out DIR [--viz VIZ_DIR ...] [--speed JSON ...] [--title T]
[--no-compile]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from polibench.console import console
from report_gen.report.anchors import DEFAULT_ANCHORS, DEFAULT_HUMAN
from report_gen.report.build import DEFAULT_TITLE, build_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", type=Path,
                        help="sweep directories (polibench ablate; the first over axis 'policy' is the headline "
                             "comparison, the others are ablations) and/or run directories (polibench run)")
    parser.add_argument("--out", type=Path, required=True,
                        help="output directory: CTM-ACT_PushT_report.pdf, and build/ with the LaTeX source")
    parser.add_argument("--viz", type=Path, action="append", default=[],
                        help="visualisation directory with a figures.json manifest (repeatable)")
    parser.add_argument("--speed", type=Path, action="append", default=[], metavar="JSON",
                        help="speed benchmarks of one machine, from `python -m pytest benchmarks "
                             "--benchmark-json=JSON` (repeatable: one column pair per file in the speed table)")
    parser.add_argument("--anchors", type=Path, default=DEFAULT_ANCHORS, metavar="JSON",
                        help="published reference points to set beside the headline (default: the committed "
                             "studies/ctm_act_pusht/published/pusht_anchors.json)")
    parser.add_argument("--human", type=Path, default=DEFAULT_HUMAN, metavar="JSON",
                        help="the human demonstrations' scores (default: studies/ctm_act_pusht/published/human_demos.json, from "
                             "`python -m polibench.evaluation.demos`)")
    parser.add_argument("--title", default=DEFAULT_TITLE, help="report title")
    parser.add_argument("--no-compile", action="store_true", help="write the LaTeX source only (no TeX needed)")


def main(args: argparse.Namespace) -> int:
    """Build the report; errors are ``ReportError`` (a ValueError) with the fix in the message."""
    path = build_report(args.inputs, args.out, args.viz, title=args.title, compile=not args.no_compile,
                        speed_files=args.speed, anchors=args.anchors, human=args.human)
    console.print(f"[green]report: {path}")
    return 0
