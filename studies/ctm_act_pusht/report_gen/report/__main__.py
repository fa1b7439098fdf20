"""``python -m report_gen.report SWEEP ... --out DIR`` (with studies/ctm_act_pusht on the path): the study's report."""

import argparse
import sys

from report_gen.report import add_arguments, main

parser = argparse.ArgumentParser(prog="python -m report_gen.report", description=__doc__)
add_arguments(parser)
sys.exit(main(parser.parse_args()))
