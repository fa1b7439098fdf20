"""RESULTS.md, the repository README's headline table and the study README's recipe and screens tables, generated
from the study's committed results (each README block lies between marker lines; the rest is written by people).

Numbers are read, never recomputed: each sweep's ``results.json`` (means with 95% bootstrap intervals over all
episodes of all training seeds) and its committed paired verdicts (``verdicts*.json``, written by
``polibench verdicts``), whose better / worse / tie is the one rule the study uses (docs/verdicts.md). Run::

    PYTHONPATH=studies/ctm_act_pusht python -m report_gen.results            # write RESULTS.md and the README blocks
    PYTHONPATH=studies/ctm_act_pusht python -m report_gen.results --check    # exit 1 if either is out of date,
                                                                              # or a claim of claims.json fails
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polibench.io import read_json
from polibench.metric_table import METRICS
from polibench.sweep.verdicts import claim_of, direction_of, seed_cell, verdict_of
from report_gen.paper import claims, formats, recipe
from report_gen.paper.screens import SWEEP as SCREENS_SWEEP
from report_gen.paper.screens import load_screens

STUDY = Path(__file__).resolve().parents[1]
RESULTS_DIR = STUDY / "results" / "cpu"
RESULTS_MD = STUDY / "RESULTS.md"
CLAIMS = claims.CLAIMS
README = STUDY.parents[1] / "README.md"
STUDY_README = STUDY / "README.md"
#: The sweep the README's headline table shows, and the variant whose verdicts it marks.
README_HEADLINE = ("headline_long", "verdicts")
#: Columns of every results table: (results.json summary key, header).
COLUMNS = (("success_rate", "success"), ("avg_max_coverage", "max coverage"), ("jerk", "jerk"))
BENCHMARK_SEED0, CHECK_SEED0 = 100000, 200000


@dataclass(frozen=True)
class Sweep:
    """One committed sweep directory: its results and what its runs were trained and evaluated with."""

    path: Path
    results: dict[str, Any]
    steps: int
    start_seed: int
    episodes: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def protocol(self) -> str:
        seeds = "benchmark" if self.start_seed < CHECK_SEED0 else "check"
        return f"{self.steps} steps, {self.episodes} {seeds} episodes per run from seed {self.start_seed}"


def load_sweep(path: Path) -> Sweep:
    results = read_json(path / "results.json")
    first = path / results["variants"][0]["runs"][0]
    info = read_json(first / "run.json") if (first / "run.json").is_file() else {}
    seeds = read_json(first / "eval" / "metrics.json")["config"]["seeds"]
    return Sweep(path, results, int(info.get("steps", 0)), int(min(seeds)), len(seeds))


def sweeps(results_dir: Path = RESULTS_DIR) -> list[Sweep]:
    """Every committed sweep, benchmark-seed sweeps of whole policies first, then by name."""
    found = [load_sweep(p.parent) for p in sorted(results_dir.glob("*/results.json"))]
    headline = lambda s: s.results["axis"] == "policy" and s.start_seed < CHECK_SEED0  # noqa: E731
    return sorted(found, key=lambda s: (not headline(s), -s.steps, s.name))


def interval(stat: dict[str, Any] | None, metric: str) -> str:
    if not stat:
        return "-"
    fmt = METRICS[metric].fmt
    return f"{fmt.format(stat['mean'])} [{fmt.format(stat['ci_low'])}, {fmt.format(stat['ci_high'])}]"


def results_table(sweep: Sweep) -> Iterator[str]:
    yield "| variant | seeds x episodes | " + " | ".join(header for _, header in COLUMNS) + " |"
    yield "|---|---|" + "---|" * len(COLUMNS)
    for v in sweep.results["variants"]:
        cells = [interval(v["metrics"].get(key), key) for key, _ in COLUMNS]
        per_seed = v["n_episodes"] // max(v["n_seeds"], 1)
        yield f"| {v['name']} | {v['n_seeds']} x {per_seed} | " + " | ".join(cells) + " |"


def verdict_rows(doc: dict[str, Any]) -> Iterator[tuple[str, str, str, str, str, dict[str, Any]]]:
    """(metric, against, paired verdict, claim, direction, comparison) of one committed verdicts file: the claim
    needs the seed-level test to agree (docs/verdicts.md)."""
    for metric, entry in doc["metrics"].items():
        direction = direction_of(entry["better"])
        for against, comparison in entry["vs"].items():
            yield (metric, against, verdict_of(comparison, direction), claim_of(comparison, direction),
                   entry["better"], comparison)


def verdicts_table(doc: dict[str, Any], source: str) -> Iterator[str]:
    yield (f"`{source}`: paired verdicts of `{doc['variant']}` against each other variant ({doc['reps']} bootstrap "
           "replications):")
    yield ""
    yield ("| metric | against | paired verdict | P(better) [95% CI] | mean difference [95% CI] | seed level: "
           "difference of seed means [95% CI], Welch p | claim |")
    yield "|---|---|---|---|---|---|---|"
    for metric, against, verdict, claim, better, c in verdict_rows(doc):
        low, high = c["difference_ci"]
        yield (f"| {metric} ({better} is better) | {against} | {verdict} | {c['probability']:.2f} "
               f"[{c['ci_low']:.2f}, {c['ci_high']:.2f}] | {c['difference']:+.3g} [{low:+.3g}, {high:+.3g}] | "
               f"{seed_cell(c['seed_test'])} | {claim} |")


def claim_failures() -> list[str]:
    """Each claim of claims.json that fails: its committed verdict says otherwise, its sentence (README) or label
    (the paper) is gone, or the paper labels a sentence no claim lists (:mod:`report_gen.paper.claims`)."""
    return claims.failures(CLAIMS, README.parent, RESULTS_DIR)


def results_markdown() -> str:
    lines = ["# CTM-ACT on Push-T: every committed result", "",
             "Generated from `results/` by `PYTHONPATH=studies/ctm_act_pusht python -m report_gen.results` (do not "
             "edit; a test fails when it is out of date). Means with 95% bootstrap intervals over all episodes of all "
             "training seeds. In the verdict tables of `polibench verdicts` (docs/verdicts.md), the paired verdict is "
             "the bootstrap's over start and training seeds, and the claim is that verdict where the test on training "
             "seeds' means agrees, a tie otherwise; only a claim is stated in words. Commands: `COMMANDS.md`.", ""]
    for sweep in sweeps():
        missing = sweep.results.get("missing", [])
        partial = (f" Gathered so far: {len(missing)} runs of its seeds are not there (yet): {', '.join(missing)}."
                   if missing else "")
        lines += [f"## {sweep.name}", "", f"`{sweep.results['axis']}`; {sweep.protocol}.{partial}", "",
                  *results_table(sweep), ""]
        for path in sorted(sweep.path.glob("verdicts*.json")):
            lines += [*verdicts_table(read_json(path), path.name), ""]
    return "\n".join(lines).rstrip() + "\n"


def readme_block() -> str:
    """The repository README's headline table: the long headline's policies, marked by its CTM-ACT's claims."""
    name, verdicts = README_HEADLINE
    sweep = load_sweep(RESULTS_DIR / name)
    doc = read_json(sweep.path / f"{verdicts}.json")
    against = {(metric, other): claim for metric, other, _, claim, _, _ in verdict_rows(doc)}
    lines = [f"{sweep.protocol}, {len(sweep.results['seeds'])} training seeds per policy "
             f"(`studies/ctm_act_pusht/results/cpu/{name}`); `{doc['variant']}` against each policy where the paired "
             "bootstrap and the test on seed means agree, a tie otherwise:", "", "| policy | success | max coverage | "
             f"jerk | {doc['variant']} (success, coverage, jerk) |", "|---|---|---|---|---|"]
    for v in sweep.results["variants"]:
        cells = [interval(v["metrics"].get(key), key) for key, _ in COLUMNS]
        marks = ", ".join(against.get((m, v["name"]), "-") for m in ("success", "max_coverage", "jerk"))
        lines.append(f"| {v['name']} | " + " | ".join(cells) + f" | {marks if v['name'] != doc['variant'] else ''} |")
    return "\n".join(lines)


def recipe_block() -> str:
    """The study README's recipe-and-size table, read from the parity bases' operative configs."""
    table = recipe.recipe(STUDY)
    lines = ["| | " + " | ".join(f"{c.heading} (`{c.gin}`)" for c in table.columns) + " |",
             "|---|" + "---|" * len(table.columns),
             "| parameters | " + " | ".join(formats.MILLIONS(n) for n in table.parameters) + " |"]
    lines += [f"| {label} | " + " | ".join(recipe.cell_text(c, "-") for c in cells) + " |"
              for label, cells in table.rows]
    return "\n".join(lines)


def screens_block() -> str:
    """The study README's screens table: each committed screen's paired verdicts against its base."""
    sweep = load_sweep(RESULTS_DIR / SCREENS_SWEEP)
    lines = [f"{sweep.protocol}; each screen's paired difference from its base [95% interval] and the paired "
             "verdict, the reading the choice rule uses:", "",
             "| screen | against | training seeds (screen / base) | success | max coverage | jerk | verdicts file |",
             "|---|---|---|---|---|---|---|"]
    for screen in load_screens(sweep.path):
        cells = []
        for result_key, verdict_key, _ in formats.METRIC_KEYS:
            c = screen.comparison(verdict_key)
            shown, low, high = formats.difference_parts(result_key, c)
            direction = direction_of(screen.doc["metrics"][verdict_key]["better"])
            cells.append(f"{shown} [{low}, {high}] {verdict_of(c, direction)}")
        summary = screen.doc["metrics"]["success"]["summary"]
        seeds = " / ".join(str(len(summary[name]["seed_means"])) for name in (screen.variant, screen.base))
        lines.append(f"| {screen.label} | {screen.base} | {seeds} | " + " | ".join(cells) +
                     f" | `{screen.path.name}` |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Block:
    """A generated block of a file otherwise written by people: the lines between its two markers."""

    path: Path
    name: str
    render: Callable[[], str]

    @property
    def markers(self) -> tuple[str, str]:
        return f"<!-- {self.name}: generated by report_gen.results -->", f"<!-- {self.name}: end -->"

    def applied(self, text: str) -> str:
        begin, end = self.markers
        if begin not in text or end not in text:
            raise SystemExit(f"{self.path} has no {self.name} block ({begin} ... {end})")
        head, rest = text.split(begin, 1)
        return f"{head}{begin}\n\n{self.render()}\n\n{end}{rest.split(end, 1)[1]}"


BLOCKS = (Block(README, "headline", readme_block), Block(STUDY_README, "recipe", recipe_block),
          Block(STUDY_README, "screens", screens_block))


def generated() -> dict[Path, str]:
    """Every file this module writes, as it should read: RESULTS.md, and each README with its blocks filled."""
    wanted = {RESULTS_MD: results_markdown()}
    for block in BLOCKS:
        wanted[block.path] = block.applied(wanted.get(block.path) or block.path.read_text())
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 where a file is out of date")
    args = parser.parse_args(argv)
    wanted = generated()
    stale = [path for path, text in wanted.items() if not path.is_file() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path} is out of date: run `PYTHONPATH=studies/ctm_act_pusht python -m report_gen.results`")
        for failure in claim_failures():
            print(f"claim: {failure}")
        return 1 if stale or claim_failures() else 0
    for path in stale:
        path.write_text(wanted[path])
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
