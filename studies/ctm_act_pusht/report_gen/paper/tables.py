"""``generated/tab_*.tex``: the paper's tables, booktabs tabulars from the committed results and verdicts.

A table file holds the tabular only: its caption and label are written in paper.tex, by people, around the
``\\input``. Comparisons are marked by their paired verdict (better / worse / tie, the rule of RESULTS.md), never
by which intervals overlap. ``appendix_sweeps.tex`` is the exception: one subsection per committed sweep (its
protocol, its command, its results and its verdicts), set as it is generated, since nobody writes 47 captions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polibench.sweep.verdicts import direction_of
from report_gen import results
from report_gen.paper import formats, recipe
from report_gen.paper.formats import BY_VERDICT_KEY, METRIC_KEYS, Difference, Stat, Verdict
from report_gen.paper.latex import breakable, escape
from report_gen.paper.names import axis_name, variant_name
from report_gen.paper.screens import SWEEP as SCREENS_SWEEP
from report_gen.paper.screens import load_screens, screen_label
from report_gen.paper.sources import CPU, STUDY, read
from report_gen.paper.style import label

DASH = "--"
METRIC_HEADINGS = ("success", "coverage", "jerk")


@dataclass(frozen=True)
class Headline:
    """A headline table: every policy of ``sweep`` with its results, and the verdicts of the ``verdicts`` file's
    variant (the CTM-ACT the sweep speaks for) against each of them."""

    stem: str
    sweep: str
    verdicts: str


#: The headline tables (the parity headline of issue 37 becomes one more line).
HEADLINES = (Headline("tab_headline_long", "headline_long", "verdicts"),)
def tabular(columns: str, header: Sequence[str], rows: Sequence[Sequence[str]], head: str = "") -> str:
    """A booktabs tabular (``tabularx`` at the line width when ``columns`` has an X column); ``head`` goes
    above the header row (a spanning heading with its rule)."""
    env, width = ("tabularx", r"{\linewidth}") if "X" in columns else ("tabular", "")
    body = [" & ".join(r) + r" \\" for r in rows]
    start = (r"\noindent" if width else "") + rf"\begin{{{env}}}{width}{{{columns}}}"
    return "\n".join([start, r"\toprule", *([head] if head else []),
                      " & ".join(header) + r" \\", r"\midrule", *body, r"\bottomrule", rf"\end{{{env}}}", ""])


def stat_cells(metrics: dict[str, Any]) -> list[str]:
    return [Stat(key)(metrics[key]) if key in metrics else DASH for key, _, _ in METRIC_KEYS]


def verdict_words(doc: dict[str, Any], against: str) -> str:
    """The verdicts file's variant against ``against`` on each metric, or -- where the file does not compare them
    (the appendix lists every verdicts file)."""
    words = []
    for _, metric, _ in METRIC_KEYS:
        entry = doc["metrics"][metric]
        comparison = entry["vs"].get(against)
        words.append(Verdict(direction_of(entry["better"]))(comparison) if comparison else None)
    return DASH if None in words else ", ".join(words)


def headline_table(spec: Headline, study: Path) -> str:
    sweep = study / CPU / spec.sweep
    doc = read(sweep / "results.json")
    verdicts = read(sweep / f"{spec.verdicts}.json")
    rows = []
    for v in doc["variants"]:
        size = formats.MILLIONS(read(sweep / v["runs"][0] / "run.json")["n_params"])
        rows.append([escape(label(v["name"])), size, *stat_cells(v["metrics"]), verdict_words(verdicts, v["name"])])
    header = ["policy", "parameters", *METRIC_HEADINGS, rf"{escape(label(verdicts['variant']))} vs.\ it"]
    return tabular("@{}lrcccl@{}", header, rows)


def recipe_table(study: Path) -> str:
    """Each parity policy's size and recipe as its committed run trained it (:mod:`report_gen.paper.recipe`)."""
    table = recipe.recipe(study)
    rows = [["parameters", *(formats.MILLIONS(n) for n in table.parameters)]]
    rows += [[escape(label), *(recipe.cell_text(c, DASH, escape) for c in cells)] for label, cells in table.rows]
    header = ["", *(rf"{escape(c.heading)} \newline \texttt{{{breakable(c.gin)}}}" for c in table.columns)]
    width = ">{\\raggedright\\arraybackslash}p{0.2\\linewidth}"
    return tabular("@{}X" + width * len(table.columns) + "@{}", header, rows)


def screens_table(study: Path) -> str:
    """Each committed screen against its base: per metric the paired difference and the verdict word."""
    rows = []
    for screen in load_screens(study / CPU / SCREENS_SWEEP):
        for i, (result_key, verdict_key, _) in enumerate(METRIC_KEYS):
            comparison = screen.comparison(verdict_key)
            better = direction_of(screen.doc["metrics"][verdict_key]["better"])
            space = r"\addlinespace " if rows and i == 0 else ""
            first = [space + escape(screen.title), escape(label(screen.base))] if i == 0 else ["", ""]
            rows.append([*first, METRIC_HEADINGS[i], Difference(result_key)(comparison), Verdict(better)(comparison)])
    return tabular("@{}llllc@{}", ["screen", "against", "metric", "difference [95\\% interval]", "verdict"], rows)


def sweep_section(sweep: results.Sweep) -> Iterator[str]:
    """One sweep of the appendix: what it is, the command behind it, its results, and each verdicts file."""
    doc = sweep.results
    missing = doc.get("missing", [])
    partial = f" Gathered so far: {len(missing)} runs of its seeds are not there (yet)." if missing else ""
    spec = read(sweep.path / "sweep.json")
    commands = [spec["command"]] if "command" in spec else [v["command"] for v in spec["variants"].values()
                                                           if "command" in v]
    yield rf"\subsection*{{\texttt{{{breakable(sweep.name)}}}}}"
    yield rf"\noindent Axis: {escape(axis_name(doc['axis']))}; {escape(sweep.protocol)}.{escape(partial)}"
    yield r"\begin{flushleft}\footnotesize\ttfamily"
    yield "\n\n".join(breakable(c) for c in commands) if commands else "(no command recorded)"
    yield r"\end{flushleft}"
    rows = [[escape(shown_name(spec, doc["axis"], v["name"])),
             f"{v['n_seeds']} $\\times$ {v['n_episodes'] // v['n_seeds']}", *stat_cells(v["metrics"])]
            for v in doc["variants"]]
    yield r"{\footnotesize"
    yield tabular("@{}Xlccc@{}", ["variant", "seeds $\\times$ episodes", *METRIC_HEADINGS], rows)
    for path in sorted(sweep.path.glob("verdicts*.json")):
        yield verdicts_tabular(read(path), lambda name: shown_name(spec, doc["axis"], name), path.name)
    yield "}"


def shown_name(spec: dict[str, Any], axis: str, variant: str) -> str:
    """A variant of the appendix: a screen by the name its gin file gives it, any other by :mod:`names`."""
    screen = screen_label(spec, variant)
    return screen if screen != variant else variant_name(axis, variant)


def verdicts_tabular(doc: dict[str, Any], name_of: Callable[[str], str], name: str) -> str:
    rows = []
    for metric, against, verdict, claim, _, comparison in results.verdict_rows(doc):
        low, high = comparison["ci_low"], comparison["ci_high"]
        rows.append([escape(name_of(against)), escape(metric.replace("_", " ")),
                     f"{comparison['probability']:.2f} [{low:.2f}, {high:.2f}]",
                     Difference(BY_VERDICT_KEY[metric])(comparison), verdict, claim])
    head = (rf"\multicolumn{{6}}{{@{{}}l}}{{paired verdicts of {escape(name_of(doc['variant']))} "
            rf"(\texttt{{{breakable(name)}}}); claim: the verdict where the test on seed means agrees}} \\ \midrule")
    return tabular("@{}Xllllc@{}", ["against", "metric", "P(better)", "difference", "verdict", "claim"], rows, head)


def appendix(study: Path) -> str:
    return "\n".join(line for sweep in results.sweeps(study / CPU) for line in sweep_section(sweep)) + "\n"


def write(out: Path, study: Path = STUDY) -> list[Path]:
    """Write every table file into ``out``; returns their paths."""
    files = {f"{h.stem}.tex": headline_table(h, study) for h in HEADLINES}
    files |= {"tab_recipe.tex": recipe_table(study), "tab_screens.tex": screens_table(study),
              "appendix_sweeps.tex": appendix(study)}
    header = "% Generated by `python -m report_gen.paper` from the committed results: do not edit.\n"
    for name, text in files.items():
        (out / name).write_text(header + text)
    return [out / name for name in files]
