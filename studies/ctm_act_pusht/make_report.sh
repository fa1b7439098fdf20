#!/usr/bin/env bash
# Rebuild studies/ctm_act_pusht/results/cpu/report/CTM-ACT_PushT_report.pdf from the authored paper
# (studies/ctm_act_pusht/paper/paper.tex) and the committed results: numbers, tables and figures are generated into
# paper/build/ (gitignored) beside a copy of the tex, the claims are checked, and only the PDF is copied out.
# Nothing trains. Needs pdflatex/latexmk (DEVELOPERS.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=studies/ctm_act_pusht/paper/build
PYTHONPATH="studies/ctm_act_pusht${PYTHONPATH:+:$PYTHONPATH}" python -m report_gen.paper --out "$OUT"
mkdir -p studies/ctm_act_pusht/results/cpu/report
cp "$OUT/CTM-ACT_PushT_report.pdf" studies/ctm_act_pusht/results/cpu/report/CTM-ACT_PushT_report.pdf
