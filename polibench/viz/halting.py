"""Figures of a halting comparison on one trained run, as a visualisation directory the report embeds.

``python -m polibench.viz.halting --calibration RUN/calibration_predicted_error.json --sweep LABEL=SWEEP ...
--out DIR`` writes one figure of panels side by side (``halting_study.png``): per halting rule, the reliability of
its predicted error per tick (one line per calibration file of that rule, e.g. per training seed), then coverage and
success against mean ticks per call for every evaluation of the given ``ablate-inference`` sweeps (one sweep per
rule, its values the rule's budget), so the rules' trade-offs share their axes; with ``--difficulty
SWEEP/variants/NAME``, ticks per call against start difficulty over every episode of that evaluation's seeds
(``ticks_by_difficulty_<NAME>.png``, its entry naming the runs in ``episodes``, so the report can state what it
shows). ``figures.json`` lists them with their captions, for whatever includes them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

from polibench.io import read_json, write_json
from polibench.rundir import RunDir
from polibench.sweep.aggregate import load_episodes
from polibench.viz.captions import join_words, runs_label
from polibench.viz.figures.halting import halting_study_figure, ticks_by_difficulty_figure
from polibench.viz.figures.save import save_figure
from polibench.viz.run import MANIFEST

#: Panels of the accuracy-compute figure: (metric, axis label).
METRICS = (("avg_max_coverage", "avg max coverage"), ("success_rate", "success rate"))


def sweep_points(label: str, sweep: Path) -> list[tuple[str, dict[str, Any]]]:
    """(``label: value``, the evaluation's summary) for every variant of an inference sweep, in its order."""
    results = read_json(Path(sweep) / "results.json")
    return [(f"{label}: {v['name']}", v["metrics"]) for v in results["variants"]]


def evaluated_episodes(source: Path) -> tuple[list[Path], list[dict[str, Any]], int]:
    """Every saved evaluation episode behind a ticks-by-difficulty figure, the runs they came from and the most
    ticks per call: of one evaluated run, or of each evaluated seed run of a sweep's ``variants/NAME`` directory
    (one evaluation over several training seeds)."""
    source = Path(source)
    if RunDir(source).evaluated():
        runs = [source]
    else:
        runs = sorted(p for p in source.glob("seed*") if RunDir(p).evaluated())
    if not runs:
        raise ValueError(f"{source} is neither an evaluated run (eval/ with metrics.json and episodes.jsonl) nor a "
                         "sweep's variants/<name> directory of evaluated seed runs: evaluate it first "
                         "(`polibench eval RUN_DIR`)")
    episodes = [e for run in runs for e in load_episodes(run)]
    ticks = [e["ticks_per_call"] for e in episodes if e.get("ticks_per_call") is not None]
    if not ticks:
        raise ValueError(f"{source}: its episodes record no ticks per call: adaptive compute needs a CTM-ACT run")
    return runs, episodes, int(read_json(runs[0] / "run.json").get("ticks") or max(ticks))


def halting_figures(calibrations: Sequence[Path], sweeps: Sequence[tuple[str, Path]], out: Path,
                    difficulty: Sequence[Path] = ()) -> Path:
    """Write the figures and the manifest into ``out``; returns the manifest's path. ``difficulty``: directories
    of seed runs (an inference sweep's ``variants/<name>``) whose evaluation episodes, pooled over the seeds, give
    a ticks-by-difficulty figure each."""
    out = Path(out)
    entries = []
    by_rule: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    for path in map(Path, calibrations):
        doc = read_json(path)
        by_rule.setdefault(doc["binding"].split(".")[1], []).append((path, doc))
    labelled = {}
    for rule, docs in by_rule.items():
        names = [p.parent.name for p, _ in docs]
        labels = names if len(set(names)) == len(names) else [str(p.parent) for p, _ in docs]
        labelled[rule] = [(label, doc) for label, (_, doc) in zip(labels, docs)]
    points = [p for label, sweep in sweeps for p in sweep_points(label, sweep)]
    if labelled or points:
        ticks = max((int(round(s["ticks_per_call"]["ci_high"])) for _, s in points), default=None)
        file = "halting_study.png"
        save_figure(halting_study_figure(labelled, points, METRICS, ticks), out / file)
        parts = []
        if labelled:
            windows = sorted({doc["windows"] for docs in by_rule.values() for _, doc in docs})
            parts.append(f"Calibration (left{' panels' if len(labelled) > 1 else ''}): mean predicted against mean "
                         f"realised chunk error per tick (numbers: the tick) on {'/'.join(map(str, windows))} "
                         f"validation windows of each run (never evaluation starts), one line per run, with the "
                         f"diagonal of a calibrated rule (each run's "
                         f"{join_words(sorted({p.name for docs in by_rule.values() for p, _ in docs}))}).")
        if points:
            parts.append(f"Accuracy against compute ({'right' if labelled else 'left to right'}): mean "
                         f"{' and '.join(name for _, name in METRICS)} against mean ticks per model call, one point "
                         f"per evaluation of the same weights as a halting rule's budget moves (labels: budget), 95% "
                         f"intervals on both axes (sweep{'s' if len(sweeps) > 1 else ''} "
                         f"{join_words([s.name for _, s in sweeps])}).")
        entries.append({"file": file, "title": "Halting study: calibration and accuracy against compute",
                        "caption": " ".join(parts)})
    for variant in map(Path, difficulty):
        runs, episodes, max_ticks = evaluated_episodes(variant)
        file = f"ticks_by_difficulty_{variant.name}.png"
        save_figure(ticks_by_difficulty_figure(episodes, max_ticks), out / file)
        entries.append({"file": file, "title": f"Ticks per call against start difficulty ({variant.name})",
                        "episodes": [str(run) for run in runs],
                        "caption": f"All {len(episodes)} evaluation episodes of {len(runs)} training seeds "
                                   f"({runs_label(runs)}), at most {max_ticks} ticks per call. Difficulty of a start: the "
                                   "mean distance between the T's 8 keypoints at the start and at the goal pose; "
                                   "easy, medium and hard thirds at its terciles. Left: each episode's mean ticks "
                                   "per call (filled: success) with each third's mean and 95% interval; right: "
                                   "success and coverage per third."})
    return write_json(out / MANIFEST, {"run": ", ".join(str(p.parent) for p in map(Path, calibrations)) or "-",
                                       "figures": entries})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calibration", action="append", default=[], type=Path,
                        help="calibration_<rule>.json written by `polibench calibrate` (repeatable)")
    parser.add_argument("--sweep", action="append", default=[], metavar="LABEL=SWEEP",
                        help="an ablate-inference sweep over a rule's budget, with its label (repeatable)")
    parser.add_argument("--difficulty", action="append", default=[], type=Path, metavar="SWEEP/variants/NAME",
                        help="seed runs of one evaluation whose episodes give a ticks-by-difficulty figure "
                             "(repeatable)")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    sweeps = []
    for item in args.sweep:
        label, sep, path = item.partition("=")
        if not sep:
            parser.error(f"--sweep {item!r}: give LABEL=SWEEP, e.g. predicted-error=runs/halting_budget")
        sweeps.append((label, Path(path)))
    print(halting_figures(args.calibration, sweeps, args.out, args.difficulty))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
