"""Verdicts between two variants of a sweep that use training-seed variance and the shared start states.

A sweep's tie marks (:mod:`polibench.sweep.aggregate`) compare percentile intervals of pooled episodes, which
ignores that training seeds vary and that every variant runs the same start seeds. Here the scores of a variant
are a matrix [training seeds, start seeds] (episodes aligned by start seed across variants), and, following rliable
(Agarwal et al., 2021), with stratified bootstrap intervals over training seeds *and* start seeds:

- the probability of improvement P(A > B): per start seed, the chance that a run of A scores above a run of B
  (ties count half), averaged over start seeds; 0.5 is a tie;
- the paired mean difference A - B: P(A > B) asks on how many starts A wins, and a variant that wins by a lot on
  few starts and loses by a little on many has a higher mean but P below 0.5, so both are shown, and a verdict
  (better / worse) needs both intervals to agree (:func:`verdict_of`);
- each variant's mean and interquartile mean (IQM), next to its per-seed means;
- a seed-level test with the training seed as the unit of replication (:func:`seed_test`: Welch's t-test on the
  seeds' means), because a bootstrap over thousands of paired episodes can call "better" what the spread between
  training seeds does not support. A claim (:func:`claim_of`) needs the bootstrap verdict and the seed-level test
  to agree; a comparison with one training seed a side has no seed-level test and supports no claim.

``polibench verdicts SWEEP --variant A --against B,C`` writes ``SWEEP/verdicts.json`` and ``verdicts.md``;
``--out NAME`` writes ``SWEEP/NAME.json`` and ``NAME.md`` instead, so a sweep with two candidate variants (the
long headline's two CTM-ACT rows) keeps the verdicts of both.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scipy import stats

from polibench.console import console
from polibench.io import read_json, write_json, write_text
from polibench.metric_table import METRICS
from polibench.rundir import RunDirError, held
from polibench.sweep.aggregate import load_episodes

#: Per-episode fields compared by default (name in episodes.jsonl).
DEFAULT_METRICS = ("success", "max_coverage", "jerk")
#: Bootstrap replications: the intervals' third decimal is stable at this count.
REPS = 2000
#: Two-sided level of the seed-level test (its interval is the 1 - SEED_ALPHA one).
SEED_ALPHA = 0.05


def score_matrix(run_dirs: Sequence[Path], metric: str) -> tuple[np.ndarray, list[int]]:
    """[training seeds, start seeds] of one per-episode metric, columns ordered by start seed; every run must have
    evaluated the same start seeds."""
    rows, seeds = [], None
    for run in run_dirs:
        episodes = sorted(load_episodes(run), key=lambda e: e["seed"])
        run_seeds = [int(e["seed"]) for e in episodes]
        if seeds is not None and run_seeds != seeds:
            raise RunDirError(f"{run} was evaluated on other start seeds than {run_dirs[0]}: verdicts need the same "
                              "ones")
        if any(e.get(metric) is None for e in episodes):
            raise RunDirError(f"{run}'s episodes lack {metric!r}; per-episode metrics: {sorted(episodes[0])}")
        seeds = run_seeds
        rows.append([float(e[metric]) for e in episodes])
    return np.asarray(rows), seeds or []


def _direction(metric: str) -> int:
    """+1 where higher is better, -1 where lower is (the metric table's direction; unranked metrics: higher)."""
    better = next((m.better for m in METRICS.values() if m.episode == metric), 0)
    return better or 1


def direction_of(better: str) -> int:
    """A verdicts document's ``better`` ("higher" / "lower", written from :func:`_direction`) as +1 / -1."""
    return 1 if better == "higher" else -1


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """rliable's P(X > Y) (per task the Mann-Whitney U / (n m), ties half, averaged over tasks), vectorised: the
    bootstrap evaluates it thousands of times, and rliable's per-task scipy loop takes minutes for 500 tasks."""
    wins = (x[:, None, :] > y[None, :, :]).mean(axis=(0, 1))
    ties = (x[:, None, :] == y[None, :, :]).mean(axis=(0, 1))
    return float(np.mean(wins + 0.5 * ties))


def compare(a: np.ndarray, b: np.ndarray, direction: int = 1, reps: int = REPS, seed: int = 0) -> dict[str, float]:
    """P(A improves on B) and the mean difference A - B, each with its 95% percentile interval from one paired,
    stratified bootstrap; ``direction`` -1 for lower-is-better (the probability counts lower as better, the
    difference stays in the metric's units).

    Each replication resamples the start seeds (the same ones for A and B: both ran every start, which is the
    pairing) and then, per start seed, each variant's training seeds. Written here because rliable's
    ``get_interval_estimates`` resamples only the training seeds for a pair of score matrices (its task bootstrap
    is not supported for pairs), which gives a zero-width interval for one training seed and too narrow ones for
    three.
    """
    rng = np.random.default_rng(seed)
    (n_a, n_tasks), n_b = a.shape, b.shape[0]
    probabilities, differences = np.empty(reps), np.empty(reps)
    for r in range(reps):
        tasks = rng.integers(0, n_tasks, n_tasks)
        xa = a[rng.integers(0, n_a, (n_a, n_tasks)), tasks]
        xb = b[rng.integers(0, n_b, (n_b, n_tasks)), tasks]
        probabilities[r] = probability_of_improvement(direction * xa, direction * xb)
        differences[r] = xa.mean() - xb.mean()
    p_low, p_high = np.percentile(probabilities, [2.5, 97.5])
    d_low, d_high = np.percentile(differences, [2.5, 97.5])
    return {"probability": probability_of_improvement(direction * a, direction * b), "ci_low": float(p_low),
            "ci_high": float(p_high), "difference": float(a.mean() - b.mean()),
            "difference_ci": [float(d_low), float(d_high)]}


def verdict_of(comparison: dict[str, Any], direction: int) -> str:
    """better / worse only when both intervals agree: P(better) excludes one half *and* the mean difference
    excludes zero on the same side; otherwise a tie. P alone calls a difference of a thousandth "worse" when most
    starts tie exactly and the few others lean one way; the difference alone calls a variant better that wins
    big on a few starts and loses on most."""
    low, high = (direction * x for x in comparison["difference_ci"])
    if comparison["ci_low"] > 0.5 and min(low, high) > 0:
        return "better"
    if comparison["ci_high"] < 0.5 and max(low, high) < 0:
        return "worse"
    return "tie"


def seed_test(a: np.ndarray, b: np.ndarray, direction: int = 1) -> dict[str, Any] | None:
    """Welch's t-test on the training seeds' means of score matrices ``a`` and ``b`` (unpaired: seed k of two
    architectures shares the data order, not the initial weights, so nothing pairs them); None with fewer than two
    training seeds on a side. Its verdict: better or worse where p < SEED_ALPHA, on the side of the difference."""
    seeds_a, seeds_b = a.mean(axis=1), b.mean(axis=1)
    if len(seeds_a) < 2 or len(seeds_b) < 2:
        return None
    difference = float(seeds_a.mean() - seeds_b.mean())
    df: float | None
    if np.ptp(seeds_a) == 0 and np.ptp(seeds_b) == 0:  # no spread on either side: the t statistic is undefined
        p, low, high, df = (1.0 if difference == 0 else 0.0), difference, difference, None
    else:
        result = stats.ttest_ind(seeds_a, seeds_b, equal_var=False)
        interval = result.confidence_interval(1 - SEED_ALPHA)
        p, low, high, df = float(result.pvalue), float(interval.low), float(interval.high), float(result.df)
    verdict = "tie" if p >= SEED_ALPHA or difference == 0 else ("better" if direction * difference > 0 else "worse")
    return {"test": "welch_t_on_seed_means", "seeds": [len(seeds_a), len(seeds_b)], "difference": difference,
            "difference_ci": [low, high], "df": df, "p": p, "verdict": verdict}


def claim_of(comparison: dict[str, Any], direction: int) -> str:
    """What a sentence may say: the bootstrap verdict where the seed-level test gives the same one, else a tie
    (also with one training seed a side, where there is no seed-level test)."""
    if "seed_test" not in comparison:
        raise RunDirError("these verdicts predate the seed-level test: write them again with the `polibench verdicts` "
                          "command that made them (the variant, --against and --metrics they hold), which adds it")
    paired, seeds = verdict_of(comparison, direction), comparison["seed_test"]
    return paired if seeds is not None and seeds["verdict"] == paired else "tie"


def summarise(scores: np.ndarray, reps: int = REPS, seed: int = 0) -> dict[str, Any]:
    """Mean and IQM (rliable's: the mean of the middle half of all scores) with 95% intervals from the stratified
    bootstrap :func:`compare` uses (start seeds, then training seeds within each), and each training seed's mean.
    Written here because rliable's interval estimates, through arch 7.2, ignore the random state they are given:
    the same command wrote other intervals each time."""
    rng = np.random.default_rng(seed)
    n_runs, n_tasks = scores.shape
    means, iqms = np.empty(reps), np.empty(reps)
    for r in range(reps):
        tasks = rng.integers(0, n_tasks, n_tasks)
        x = scores[rng.integers(0, n_runs, (n_runs, n_tasks)), tasks]
        means[r], iqms[r] = x.mean(), stats.trim_mean(x, 0.25, axis=None)
    return {"mean": float(scores.mean()), "mean_ci": [float(v) for v in np.percentile(means, [2.5, 97.5])],
            "iqm": float(stats.trim_mean(scores, 0.25, axis=None)),
            "iqm_ci": [float(v) for v in np.percentile(iqms, [2.5, 97.5])],
            "seed_means": [float(m) for m in scores.mean(axis=1)]}


def variant_runs(sweep: Path, prefix: str = "") -> dict[str, list[Path]]:
    """Each variant's seed run directories in a finished sweep, keyed ``prefix + name``."""
    results = sweep / "results.json"
    if not results.is_file():
        raise RunDirError(f"{sweep} has no results.json: finish the sweep first (rerun the command in its sweep.json)")
    return {prefix + v["name"]: [sweep / r for r in v["runs"]] for v in read_json(results)["variants"]}


def verdicts(sweep: Path, variant: str, against: Sequence[str], metrics: Sequence[str] = DEFAULT_METRICS,
             reps: int = REPS, also: Sequence[Path] = (), variant_seeds: Sequence[int] | None = None
             ) -> dict[str, Any]:
    """The comparison document of ``variant`` against each of ``against`` in one sweep directory. ``also``: other
    sweeps evaluated on the same start seeds (an inference sweep of one variant's weights beside the sweep that
    trained its rival), whose variants are named ``<sweep dir name>/<variant>``. ``variant_seeds``: read only these
    training seeds of ``variant`` (e.g. the seeds that played no part in choosing its configuration); the rivals
    keep all theirs."""
    runs = variant_runs(sweep)
    for other in map(Path, also):
        runs.update(variant_runs(other, f"{other.name}/"))
    missing = [v for v in (variant, *against) if v not in runs]
    if missing:
        raise RunDirError(f"{sweep} has no variant(s) {missing}; its variants: {', '.join(runs)}"
                          + ("" if also else " (add another sweep's with --also SWEEP, named SWEEP_NAME/VARIANT)"))
    if variant_seeds is not None:
        runs[variant] = _seed_runs(runs[variant], variant_seeds, variant)
    doc: dict[str, Any] = {"variant": variant, "reps": reps, "metrics": {},
                           "arguments": {"against": list(against), "metrics": list(metrics),
                                         "also": [os.path.relpath(other, sweep) for other in also],
                                         **({"variant_seeds": list(variant_seeds)} if variant_seeds is not None
                                            else {})}}
    for metric in metrics:
        scores = {v: score_matrix(runs[v], metric) for v in (variant, *against)}
        seeds = {v: s for v, (_, s) in scores.items()}
        if any(s != seeds[variant] for s in seeds.values()):
            raise RunDirError(f"the variants of {sweep} were evaluated on different start seeds: no paired verdict")
        direction = _direction(metric)
        doc["metrics"][metric] = {
            "better": "higher" if direction > 0 else "lower",
            "summary": {v: summarise(m, reps) for v, (m, _) in scores.items()},
            "vs": {b: {**compare(scores[variant][0], scores[b][0], direction, reps),
                       "seed_test": seed_test(scores[variant][0], scores[b][0], direction)} for b in against},
            "n_start_seeds": len(seeds[variant]),
        }
    return doc


def to_markdown(doc: dict[str, Any]) -> str:
    comparisons = [c for m in doc["metrics"].values() for c in m["vs"].values()]
    seeded = any(c.get("seed_test") for c in comparisons)
    lines = [f"P({doc['variant']} better than X) and the mean difference {doc['variant']} - X per metric, 95% paired "
             f"bootstrap intervals over start seeds and training seeds ({doc['reps']} replications); P = 0.5 is a tie. "
             f"Verdict: better or worse only where P's interval excludes 0.5 and the difference's excludes 0, on the "
             f"same side; otherwise a tie."]
    head = ["metric", "X", "P(better) [95% CI]", "verdict", "mean difference [95% CI]", "mean (variant / X)",
            "per-seed means (variant / X)"]
    if seeded:
        lines.append(f"Seed level: Welch's t-test on the training seeds' means, difference [{1 - SEED_ALPHA:.0%} CI] "
                     f"and p; a claim needs it to give the verdict's answer at p < {SEED_ALPHA:g}, else it reads as a "
                     "tie.")
        head += ["seed level: difference [CI], p", "claim"]
    lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for metric, m in doc["metrics"].items():
        direction = direction_of(m["better"])
        mine = m["summary"][doc["variant"]]
        for other, c in m["vs"].items():
            theirs = m["summary"][other]
            low, high = c["difference_ci"]
            cells = [f"{metric} ({m['better']} is better)", other,
                     f"{c['probability']:.2f} [{c['ci_low']:.2f}, {c['ci_high']:.2f}]", verdict_of(c, direction),
                     f"{c['difference']:+.3g} [{low:+.3g}, {high:+.3g}]", f"{mine['mean']:.3g} / {theirs['mean']:.3g}",
                     f"{_seed_means(mine)} / {_seed_means(theirs)}"]
            if seeded:
                cells += [seed_cell(c.get("seed_test")), claim_of(c, direction)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _seed_means(summary: dict[str, Any]) -> str:
    return ", ".join(f"{x:.3g}" for x in summary["seed_means"])


def seed_cell(test: dict[str, Any] | None) -> str:
    """A seed-level test as a table cell: the difference of seed means, its interval and p."""
    if test is None:
        return "none (one training seed)"
    low, high = test["difference_ci"]
    return f"{test['difference']:+.3g} [{low:+.3g}, {high:+.3g}], p = {test['p']:.2g}"


def _seed_runs(runs: Sequence[Path], seeds: Sequence[int], variant: str) -> list[Path]:
    """The run directories ``seed<k>`` of ``runs`` for each k of ``seeds``, refusing a seed the variant lacks."""
    by_seed = {run.name: run for run in runs}
    lacking = [k for k in seeds if f"seed{k}" not in by_seed]
    if lacking or not seeds:
        raise RunDirError(f"variant {variant} has no training seed(s) {lacking or 'given'}; its runs: "
                          f"{', '.join(sorted(by_seed))} (give --variant-seeds as comma-separated seed numbers)")
    return [by_seed[f"seed{k}"] for k in seeds]


def _seed_list(text: str) -> list[int]:
    try:
        seeds = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of seed numbers, e.g. 2,3,4") from None
    if len(set(seeds)) != len(seeds) or any(k < 0 for k in seeds):
        raise argparse.ArgumentTypeError(f"{text!r}: seeds must be distinct and not negative, e.g. 2,3,4")
    return seeds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep", help="a sweep directory (from `polibench ablate`) with results.json")
    parser.add_argument("--variant", required=True, help="the variant whose improvement is asked about")
    parser.add_argument("--against", required=True, help="comma-separated variants to compare it with")
    parser.add_argument("--metrics", default=",".join(DEFAULT_METRICS),
                        help="comma-separated per-episode metrics (episodes.jsonl names)")
    parser.add_argument("--reps", type=int, default=REPS, help="bootstrap replications")
    parser.add_argument("--out", default="verdicts", metavar="NAME",
                        help="file name, without extension, of the verdicts written into the sweep (NAME.json, "
                             "NAME.md; default verdicts): another name keeps a second variant's verdicts beside "
                             "the first")
    parser.add_argument("--also", action="append", default=[], metavar="SWEEP",
                        help="another sweep on the same start seeds whose variants may be named, as "
                             "SWEEP_NAME/VARIANT, in --variant and --against (repeatable)")
    parser.add_argument("--variant-seeds", type=_seed_list, default=None, metavar="K,...",
                        help="read only these training seeds of --variant (e.g. those that played no part in "
                             "choosing it); the variants it is compared with keep all theirs")


def main(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", args.out):
        raise RunDirError(f"--out {args.out!r} is not a plain file name: give a name such as verdicts_ctm_act_unet "
                          f"(letters, digits, '_', '.', '-'; it is written into the sweep directory)")
    if args.reps < 1:
        raise ValueError(f"--reps must be at least 1 (bootstrap replications; the default is {REPS}), got {args.reps}")
    sweep = Path(args.sweep)
    if not sweep.is_dir():
        raise RunDirError(f"{sweep} is not a sweep directory: give the --out of a `polibench ablate` (or "
                          "ablate-inference, reevaluate) that has finished")
    # the sweep's own lock: no ablate may add runs while its episodes are read and the verdicts written into it
    with held(sweep, "sweep directory"):
        doc = verdicts(sweep, args.variant, [v.strip() for v in args.against.split(",") if v.strip()],
                       [m.strip() for m in args.metrics.split(",") if m.strip()], args.reps, args.also,
                       args.variant_seeds)
        write_json(sweep / f"{args.out}.json", doc)
        text = to_markdown(doc)
        write_text(sweep / f"{args.out}.md", text)
    console.print(text)
    return 0
