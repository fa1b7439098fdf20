"""The study's paper (CTM-ACT_PushT_report.pdf): people write ``studies/ctm_act_pusht/paper/paper.tex``; this
package writes every number (macros), table and figure it uses from the committed results, and checks its claims.

Build with ``PYTHONPATH=studies/ctm_act_pusht python -m report_gen.paper --out DIR`` (``make_report.sh`` does).
Importing the package imports nothing heavy: ``report_gen.results`` reaches ``claims`` through it.
"""
