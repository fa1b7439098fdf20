"""``generated/numbers.tex``: every number the paper's text uses, as a macro defined from one file and one key.

People write ``\\HeadDiffSuccessCTMvsDP`` where the sentence needs CTM-ACT's paired success difference with
Diffusion Policy in the long headline; the macro holds ``-0.08 [-0.13, -0.04]`` as the committed verdicts file
says, and its line in numbers.tex names the file and key. :func:`table` lists every macro as a
:class:`Number`; a sweep's macros come from a :class:`SweepMacros` line in :data:`SWEEPS`, so when the parity
headline (issue 37) is committed, its macros are one more line there.

Names: ``<prefix><Metric><Who>`` a mean with its 95% interval (``...Mean``: the mean alone), ``<prefix>Diff<Metric>
<A>vs<B>`` and ``<prefix>Verdict<Metric><A>vs<B>`` a paired comparison (``Claim``: the verdict the text may
state, which needs the seed-level test to agree; ``Seeds``: that test), ``<prefix>Params<Who>``, ``<prefix>Steps``
and ``<prefix>EpisodesPerSeed``; ``Screen...<Screen>`` for each parity screen against its base (the screen named
by its verdicts file, ``verdicts_ticks1`` -> ``TicksOne``; ``ScreenHalfWidth...``: half its difference interval's
width); ``Human...``, ``Speed...`` and ``Latency...`` (the parity policies' call times over processes).
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polibench.sweep.verdicts import direction_of
from report_gen.paper import formats
from report_gen.paper.formats import METRIC_KEYS, Claim, Difference, HalfWidth, SeedTest, Stat, Verdict
from report_gen.paper.latex import strip_comments
from report_gen.paper.screens import SWEEP as SCREENS_SWEEP
from report_gen.paper.screens import load_screens
from report_gen.paper.sources import CPU, STUDY, PaperError, lookup, read
from report_gen.paper.speed import CALL


@dataclass(frozen=True)
class Number:
    """One macro: the value at ``key`` of ``file`` (relative to the study folder), printed by ``fmt``; with
    ``over``, the value divided by the one at that key of the same file (a ratio)."""

    name: str
    file: Path
    key: str
    fmt: Callable[[Any], str]
    over: str | None = None


@dataclass(frozen=True)
class SweepMacros:
    """The macros of one committed sweep: each variant of ``who`` (variant -> the word naming it in macros) with
    its results and size, and every comparison between two of them in the sweep's verdicts files."""

    prefix: str
    sweep: str
    who: Mapping[str, str]


SWEEPS: tuple[SweepMacros, ...] = (
    # the committed 2M-parameter long headline: from now on the unmatched comparison
    SweepMacros("Head", "headline_long", {"act": "ACT", "act_capacity": "ACTFour", "diffusion": "DP",
                                          "ctm_act_unet": "CTM", "ctm_act_best": "CTMScreened"}),
    # the parity screens' two bases (the screens themselves: screen_numbers)
    SweepMacros("Parity", SCREENS_SWEEP, {"parity_act": "ACT", "parity_ctm_act": "CTM"}),
)
#: Diffusion Policy on the screens' 100 check seeds: the long headline's seed-0 run evaluated again there.
DP_CHECK = CPU / "headline_long" / "variants" / "diffusion" / "seed0" / "eval_check100" / "metrics.json"
HUMAN = Path("published") / "human_demos.json"
#: Speed benchmark sessions: (word in macro names, file).
SPEED = (("Cpu", Path("results") / "speed_cpu.json"), ("Gpu", Path("results") / "gpu" / "speed_h100.json"))
#: Batch-1 model calls: (word in macro names, benchmark parameter); ratios divide by the first.
CALLS = (("ACT", "act_chunk8"), ("CTM", "ctm_act_unet_fixed_T"), ("DPDDPM", "diffusion_ddpm100"),
         ("DPDDIM", "diffusion_ddim10"))
HUMAN_NUMBERS = (
    ("HumanEpisodes", "episodes", formats.COUNT),
    ("HumanCoverage", "avg_max_coverage", formats.Plain("{:.3f}")),
    ("HumanSuccess", "success_rate", formats.PERCENT),
    ("HumanReplayCoverage", "replay/avg_max_coverage", formats.Plain("{:.3f}")),
    ("HumanReplaySuccess", "replay/success_rate", formats.PERCENT),
    ("HumanReplayDriftPx", "replay/mean_drift_px", formats.Plain("{:.3f}")),
)
#: The parity policies' batch-1 call times over fresh processes (benchmarks/latency_spread.py): (word, label).
LATENCY = CPU / "latency_parity" / "latency.json"
LATENCY_CALLS = (("ACT", "act"), ("CTM", "ctm_act"), ("CTMOneTick", "ctm_act_1tick"), ("DPDDPM", "dp_ddpm100"),
                 ("DPDDIM", "dp_ddim10"))
#: Every macro name starts with one of these, so a misspelt one in the text is found before LaTeX runs.
PREFIXES = tuple(dict.fromkeys([*(s.prefix for s in SWEEPS), "Screen", "Human", "Speed", "Latency"]))
_DIGITS = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")


def table(study: Path = STUDY) -> dict[str, Number]:
    """Every macro of the paper, by name; a name made twice or not made of letters is an error."""
    numbers: dict[str, Number] = {}
    made = itertools.chain(*(sweep_numbers(spec, study) for spec in SWEEPS), screen_numbers(study), human_numbers(),
                           speed_numbers(), latency_numbers())
    for number in made:
        if not re.fullmatch(r"[A-Za-z]+", number.name):
            raise PaperError(f"macro name {number.name!r} ({number.file}) is not letters only: TeX cannot name it")
        if number.name in numbers:
            raise PaperError(f"macro \\{number.name} is made twice ({numbers[number.name].file}: "
                             f"{numbers[number.name].key}; {number.file}: {number.key})")
        numbers[number.name] = number
    return numbers


def sweep_numbers(spec: SweepMacros, study: Path) -> Iterator[Number]:
    """A sweep's budget and evaluation size (from its first named run), each named variant's size, seeds and
    results, and the comparisons between named variants in its verdicts files."""
    sweep = CPU / spec.sweep
    results = read(study / sweep / "results.json")
    runs = {v["name"]: v["runs"] for v in results["variants"]}
    unknown = sorted(set(spec.who) - set(runs))
    if unknown:
        raise PaperError(f"{study / sweep / 'results.json'} has no variant {', '.join(unknown)} (numbers.SWEEPS "
                         f"names it for {spec.prefix})")
    first_run = sweep / runs[next(iter(spec.who))][0]
    yield Number(f"{spec.prefix}Steps", first_run / "run.json", "steps", formats.COUNT)
    yield Number(f"{spec.prefix}EpisodesPerSeed", first_run / "eval" / "metrics.json", "config/seeds", formats.LENGTH)
    for variant, who in spec.who.items():
        yield Number(f"{spec.prefix}Params{who}", sweep / runs[variant][0] / "run.json", "n_params", formats.MILLIONS)
        yield Number(f"{spec.prefix}Seeds{who}", sweep / "results.json", f"variants/{variant}/n_seeds", formats.COUNT)
        yield from stat_numbers(f"{spec.prefix}{{metric}}{who}", sweep / "results.json", f"variants/{variant}/metrics")
    for path in sorted((study / sweep).glob("verdicts*.json")):
        doc = read(path)
        if doc["variant"] in spec.who:
            against = [a for a in spec.who if a != doc["variant"]]
            yield from comparison_numbers(f"{spec.prefix}{{kind}}{{metric}}{spec.who[doc['variant']]}vs",
                                          sweep / path.name, doc, {a: spec.who[a] for a in against})


def stat_numbers(pattern: str, file: Path, key: str) -> Iterator[Number]:
    """Mean with interval, and mean alone, of each reported metric under ``key`` (``pattern`` has ``{metric}``)."""
    for result_key, _, word in METRIC_KEYS:
        yield Number(pattern.format(metric=word), file, f"{key}/{result_key}", Stat(result_key))
        yield Number(pattern.format(metric=word) + "Mean", file, f"{key}/{result_key}", Stat(result_key, False))


def comparison_numbers(pattern: str, file: Path, doc: dict[str, Any], against: Mapping[str, str]) -> Iterator[Number]:
    """Paired difference and verdict of a verdicts file's variant against each of ``against`` (variant -> word)
    that the file compares it with."""
    for result_key, verdict_key, word in METRIC_KEYS:
        entry = doc["metrics"].get(verdict_key, {})
        for variant, who in against.items():
            if variant in entry.get("vs", {}):
                key = f"metrics/{verdict_key}/vs/{variant}"
                yield Number(pattern.format(kind="Diff", metric=word) + who, file, key, Difference(result_key))
                yield Number(pattern.format(kind="Verdict", metric=word) + who, file, key,
                             Verdict(direction_of(entry["better"])))
                yield Number(pattern.format(kind="Claim", metric=word) + who, file, key,
                             Claim(direction_of(entry["better"])))
                yield Number(pattern.format(kind="Seeds", metric=word) + who, file, key, SeedTest(result_key))


def screen_numbers(study: Path) -> Iterator[Number]:
    """Each committed parity screen: its results and its paired comparison with its base; and Diffusion
    Policy's evaluation on the same check seeds."""
    sweep = CPU / SCREENS_SWEEP
    for screen in load_screens(study / sweep):
        word = macro_word(screen.short)
        yield from stat_numbers(f"Screen{{metric}}{word}", sweep / "results.json", f"variants/{screen.variant}/metrics")
        for result_key, verdict_key, metric in METRIC_KEYS:
            key = f"metrics/{verdict_key}/vs/{screen.base}"
            file = sweep / screen.path.name
            yield Number(f"ScreenDiff{metric}{word}", file, key, Difference(result_key))
            yield Number(f"ScreenHalfWidth{metric}{word}", file, key, HalfWidth(result_key))
            yield Number(f"ScreenVerdict{metric}{word}", file, key,
                         Verdict(direction_of(screen.doc["metrics"][verdict_key]["better"])))
    yield from stat_numbers("Screen{metric}DP", DP_CHECK, "summary")


def human_numbers() -> Iterator[Number]:
    """The human demonstrations scored as recorded and with their actions replayed (``polibench.evaluation.demos``)."""
    for name, key, fmt in HUMAN_NUMBERS:
        yield Number(name, HUMAN, key, fmt)


def speed_numbers() -> Iterator[Number]:
    """Batch-1 model-call medians (ms) per session, and each as a multiple of ACT's call in the same session."""
    for machine, file in SPEED:
        reference = f"benchmarks/{CALL.format(CALLS[0][1])}/stats/median"
        yield Number(f"SpeedProcessor{machine}", file, "machine_info/cpu/brand_raw", formats.TEXT)
        for who, param in CALLS:
            key = f"benchmarks/{CALL.format(param)}/stats/median"
            yield Number(f"SpeedCall{who}{machine}", file, key, formats.MILLISECONDS)
            if key != reference:
                yield Number(f"SpeedRatio{who}{machine}", file, key, formats.RATIO, over=reference)


def latency_numbers() -> Iterator[Number]:
    """Each parity policy's batch-1 call (ms: the median over processes of each process's median, and the smallest
    and largest process median), and CTM-ACT's call as a fraction of Diffusion Policy's DDIM-10 call."""
    ms = formats.Plain("{:.2f}")
    yield Number("LatencyProcesses", LATENCY, "processes", formats.COUNT)
    yield Number("LatencyCalls", LATENCY, "calls", formats.COUNT)
    for who, label in LATENCY_CALLS:
        for suffix, key in (("", "median_ms"), ("Min", "process_min_ms"), ("Max", "process_max_ms")):
            yield Number(f"LatencyCall{who}{suffix}", LATENCY, f"policies/{label}/{key}", ms)
    yield Number("LatencyShareCTMofDPDDIM", LATENCY, "policies/ctm_act/median_ms", formats.Plain("{:.2f}"),
                 over="policies/dp_ddim10/median_ms")


def macro_word(short: str) -> str:
    """A verdicts file's short name as letters for a macro name: ``from_act`` -> ``FromAct``, ``ticks1`` ->
    ``TicksOne``."""
    spelt = re.sub(r"\d", lambda m: "_" + _DIGITS[int(m.group())] + "_", short)
    return "".join(part[:1].upper() + part[1:] for part in spelt.split("_") if part)


def values(numbers: Mapping[str, Number], study: Path = STUDY) -> dict[str, str]:
    """Each macro's LaTeX text, every file read once."""
    docs: dict[Path, Any] = {}
    out = {}
    for name, number in numbers.items():
        path = study / number.file
        if path not in docs:
            docs[path] = read(path)
        value = lookup(docs[path], number.key, path)
        if number.over:
            value = value / lookup(docs[path], number.over, path)
        out[name] = number.fmt(value)
    return out


def write(path: Path, study: Path = STUDY) -> dict[str, Number]:
    """Write numbers.tex: one ``\\newcommand`` a macro, under a comment naming its file and key."""
    numbers = table(study)
    texts = values(numbers, study)
    lines = ["% Generated by `python -m report_gen.paper` from the committed results: do not edit.",
             r"\RequirePackage{xspace}"]
    for name, number in numbers.items():
        over = f" / {number.over}" if number.over else ""
        lines += [f"% {number.file.as_posix()}: {number.key}{over}", rf"\newcommand{{\{name}}}{{{texts[name]}\xspace}}"]
    path.write_text("\n".join(lines) + "\n")
    return numbers


def undefined(tex: str, defined: Mapping[str, Any], source: str) -> list[str]:
    """Each use in ``tex`` (named ``source``) of a macro with one of :data:`PREFIXES` that ``defined`` lacks,
    with its line and the nearest defined names."""
    pattern = re.compile(r"\\((?:" + "|".join(PREFIXES) + r")[A-Za-z]*)")
    problems = []
    for number, line in enumerate(strip_comments(tex).splitlines(), start=1):
        for name in pattern.findall(line):
            if name not in defined:
                near = difflib.get_close_matches(name, list(defined), n=3)
                hint = f" (did you mean {', '.join(chr(92) + n for n in near)}?)" if near else ""
                problems.append(f"{source}:{number}: \\{name} is not defined by generated/numbers.tex{hint}; "
                                "name a macro numbers.py makes, or add it to numbers.py")
    return problems
