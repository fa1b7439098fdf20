"""The auto-generated LaTeX report (CTM-ACT_PushT_report.pdf) from sweep and run directories."""

from report_gen.report.build import REPORT_NAME, build_report
from report_gen.report.cli import add_arguments, main
from report_gen.report.inputs import ReportError

__all__ = ["REPORT_NAME", "ReportError", "add_arguments", "build_report", "main"]
