"""LaTeX tables from results: every cell formatted by :mod:`report_gen.report.format` and escaped here.

Tie marks come from results.json (``vs_best``): bold for the best variant and every variant whose 95% interval
overlaps it, and a star on the best.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean
from typing import Any, Mapping, Sequence

from polibench.metric_table import METRICS, VIEWS
from report_gen.report import speed
from report_gen.report.format import Tex, escape, fmt_interval
from report_gen.report.inputs import RunFacts

LEGEND = ("Mean [95% bootstrap interval] over all evaluation episodes of all training seeds. Bold: the best "
          "variant (marked *) and every variant whose interval overlaps the best's (a tie: not shown to be worse).")


@dataclass(frozen=True)
class Table:
    caption: str
    label: str
    header: list[str]
    rows: list[list[Tex]]
    #: set in smaller type with tighter rows, for a long table that should share its page with text
    compact: bool = False

    @property
    def align(self) -> str:
        return "l" + "r" * (len(self.header) - 1)


def outcome_table(entries: Sequence[Mapping[str, Any]], caption: str, label: str,
                  metrics: Sequence[str] = VIEWS["report_outcome"]) -> Table:
    """Variant, seeds x episodes and the given metrics (by default the task outcome)."""
    rows = [[escape(e["name"]), escape(_seeds_episodes(e)), *(_cell(e, m) for m in metrics)] for e in entries]
    return Table(caption, label, ["variant", "seeds x episodes", *(METRICS[m].report_heading for m in metrics)],
                 [[Tex(c) for c in r] for r in rows])


def cost_table(entries: Sequence[Mapping[str, Any]], facts: Mapping[str, Sequence[RunFacts]], caption: str,
               label: str) -> Table:
    """Variant, size, training time and the cost metrics (latency, ticks, smoothness)."""
    rows = []
    for e in entries:
        runs = facts[e["name"]]
        params = [f.n_params for f in runs if f.n_params]
        wall = [f.train_wall_s for f in runs if f.train_wall_s]
        rows.append([escape(e["name"]), escape(f"{mean(params) / 1e6:.2f}M" if params else "-"),
                     escape(f"{mean(wall) / 60:.1f}" if wall else "-"), *(_cell(e, m) for m in VIEWS["report_cost"])])
    header = ["variant", "params", "train min / seed", *(METRICS[m].report_heading for m in VIEWS["report_cost"])]
    return Table(caption, label, header, [[Tex(c) for c in r] for r in rows])


QUESTION_METRICS = ("success_rate", "avg_max_coverage", "jerk", "ticks_per_call", "latency_per_call_ms")


def question_table(groups: Sequence[tuple[str, Sequence[Mapping[str, Any]]]], caption: str, label: str,
                   metrics: Sequence[str] = QUESTION_METRICS) -> Table:
    """Several sweeps in one table: a heading row per sweep (a single cell, set across the table), then its
    variants with seeds x episodes and ``metrics``; metrics no variant measured are left out."""
    shown = [m for m in metrics if any(m in e["metrics"] for _, entries in groups for e in entries)]
    rows: list[list[Tex]] = []
    for heading, entries in groups:
        rows.append([Tex(escape(heading))])
        rows += [[Tex(escape(e["name"])), Tex(escape(_seeds_episodes(e))), *(Tex(_cell(e, m)) for m in shown)]
                 for e in entries]
    return Table(caption, label, ["configuration", "seeds x episodes", *(METRICS[m].report_heading for m in shown)],
                 rows)


def speed_table(files: Sequence[speed.SpeedFile], caption: str, label: str) -> Table:
    """One row per benchmark in any file, one column pair (median ms, ratio vs ACT) per file; ``-`` where a file
    lacks the benchmark or its group has no ACT reference."""
    rows = []
    for name in _speed_rows(files):
        ticks = next((f.benchmarks[name].ticks for f in files if name in f.benchmarks), None)
        cells = [speed.label(name, ticks)]
        for f in files:
            b = f.benchmarks.get(name)
            cells += [speed.fmt_ms(b.median_s if b else None), speed.fmt_ratio(b.ratio if b else None)]
        rows.append([Tex(escape(c)) for c in cells])
    header = ["benchmark", *(h for f in files for h in (f"{f.tag} ms", "vs ACT"))]
    return Table(caption, label, header, rows)


def _speed_rows(files: Sequence[speed.SpeedFile]) -> list[str]:
    """Known benchmarks in benchmarks/test_speed.py's order, then the others as the files list them."""
    names = list(dict.fromkeys(n for f in files for n in f.benchmarks))
    order = {n: i for i, n in enumerate(speed.LABELS)}
    return sorted(names, key=lambda n: order.get(n, len(order)))


def _cell(entry: Mapping[str, Any], metric: str) -> str:
    stat = entry["metrics"].get(metric)
    text = escape(fmt_interval(metric, stat))
    mark = (stat or {}).get("vs_best")
    if mark == "best":
        return rf"\textbf{{{text}}}\,$\star$"
    return rf"\textbf{{{text}}}" if mark == "tie" else text


def seeds_and_episodes(entry: Mapping[str, Any]) -> tuple[int, int]:
    """(training seeds, evaluation episodes per seed) of a variant or single-run entry."""
    seeds = entry.get("n_seeds", 1)
    episodes = entry.get("n_episodes") or entry["metrics"].get("success_rate", {}).get("n", 0)
    return seeds, episodes // max(seeds, 1)


def _seeds_episodes(entry: Mapping[str, Any]) -> str:
    return "{} x {}".format(*seeds_and_episodes(entry))
