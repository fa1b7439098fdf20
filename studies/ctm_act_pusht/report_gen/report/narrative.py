"""Sentences that state measured outcomes, generated from the numbers so the text can never contradict them.

The rule is the protocol's (shared/docs/protocol.md): a variant beats another only where their 95% intervals do
not overlap; otherwise it is a tie. Every function returns plain text (escaped later by the template).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from polibench.metric_table import METRICS, RANKED
from report_gen.report.format import fmt_interval, fmt_value, join_words
from report_gen.report.inputs import Sweep
from report_gen.report.names import policy_name
from report_gen.report.speed import SpeedFile, fmt_ms, fmt_ratio

Stat = Mapping[str, Any]


def compare(a: Stat, b: Stat, higher_is_better: bool = True) -> str:
    """``better``, ``worse`` or ``tie`` for ``a`` against ``b``: better only when the intervals do not overlap."""
    if a["ci_low"] <= b["ci_high"] and b["ci_low"] <= a["ci_high"]:
        return "tie"
    return "better" if (a["mean"] > b["mean"]) == higher_is_better else "worse"


def ranking(variants: Sequence[Mapping[str, Any]], metric: str) -> str:
    """Who is best on ``metric``, who ties with the best and who is worse, from results.json's tie marks."""
    marks = {v["name"]: v["metrics"][metric] for v in variants if "vs_best" in v["metrics"].get(metric, {})}
    label = METRICS[metric].label
    if not marks:
        return f"No variant measured {label}."
    best = next(n for n, s in marks.items() if s["vs_best"] == "best")
    ties = [n for n, s in marks.items() if s["vs_best"] == "tie"]
    worse = [n for n, s in marks.items() if s["vs_best"] == "worse"]
    if not worse and len(marks) > 1:
        if len({s["mean"] for s in marks.values()}) == 1:
            return (f"On {label} every variant scored the same ({fmt_value(metric, marks[best]['mean'])}): "
                    "no difference at all.")
        return (f"On {label} no variant is shown to be better: all {len(marks)} intervals overlap the highest "
                f"mean, {best}'s {fmt_interval(metric, marks[best])}.")
    text = f"On {label}, {best} has the best mean, {fmt_interval(metric, marks[best])}"
    if ties:
        text += f"; {join_words(ties)} {'is' if len(ties) == 1 else 'are'} tied with it (overlapping 95% intervals)"
    if worse:
        text += f"; {join_words(worse)} {'is' if len(worse) == 1 else 'are'} worse (intervals apart from the best's)"
    return text + "."


def ticks_used(sweep: Sweep) -> list[str]:
    """How many of their ticks the CTM-ACT variants used per call, against the configured maximum; variants that
    ran every tick of every call are said together."""
    out, every = [], {}
    for v in _by_policy(sweep, "ctm_act"):
        stat = v["metrics"].get("ticks_per_call")
        t_max = sweep.runs[v["name"]][0].ticks
        if stat and t_max and stat["ci_low"] == stat["mean"] == stat["ci_high"] == t_max:
            every.setdefault(t_max, []).append(policy_name(v["name"]))
        elif stat:
            out.append(f"{policy_name(v['name'])} used {fmt_interval('ticks_per_call', stat)} ticks per call"
                       + (f" of at most {t_max}." if t_max else "."))
    for t_max, names in every.items():
        subject = names[0] if len(names) == 1 else f"{'Both' if len(names) == 2 else 'All of'} {join_words(names)}"
        out.append(f"{subject} ran all {t_max} ticks of every call.")
    return out


def reference_check(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> str:
    """Our variant against a reference implementation of the same policy on every ranked metric: the protocol's
    verdict (tie unless the intervals are apart), so a worse baseline is named, not averaged away."""
    verdicts: dict[str, list[str]] = {"tie": [], "better": [], "worse": []}
    for metric, direction in RANKED.items():
        a, b = ours["metrics"].get(metric), theirs["metrics"].get(metric)
        if a and b:
            verdicts[compare(a, b, direction > 0)].append(
                f"{METRICS[metric].label} ({fmt_interval(metric, a)} vs {fmt_interval(metric, b)})")
    parts = [f"{'tied' if verdict == 'tie' else verdict} on {join_words(items)}"
             for verdict, items in verdicts.items() if items]
    if not parts:
        return f"{policy_name(ours['name'])} and {policy_name(theirs['name'])} share no measured metric."
    return f"Our {policy_name(ours['name'])} against {policy_name(theirs['name'])}: {'; '.join(parts)}."


def speed_findings(f: SpeedFile) -> list[str]:
    """CTM-ACT's and DDPM-100's time per model call, and CTM-ACT's per training step, as multiples of ACT's in the
    same benchmark file (empty where the file lacks ACT's reference or the other rows)."""
    out = []
    act, ctm = f.reference("inference"), f.family("inference", "ctm_act")
    ddpm = f.family("inference", "diffusion_ddpm100")
    if act and (ctm or ddpm):
        parts = [f"a CTM-ACT model call (batch 1, every tick) took {_span(ctm)} the {fmt_ms(act.median_s)} ms of "
                 "an ACT model call"] if ctm else []
        parts += [f"a Diffusion Policy DDPM-100 call took {_span(ddpm)} ACT's"] if ddpm else []
        out.append(f"In {f.tag}, {join_words(parts)}.")
    act, ctm = f.reference("training"), f.family("training", "ctm_act")
    if act and ctm:
        out.append(f"A CTM-ACT training step (batch 64) took {_span(ctm)} the {fmt_ms(act.median_s)} ms of ACT's "
                   f"in {f.tag}.")
    return out


def _span(benchmarks: Sequence[Any]) -> str:
    """The ratios of ``benchmarks`` as ``6.48x`` or ``6.48x to 8.38x``."""
    ratios = sorted(b.ratio for b in benchmarks if b.ratio is not None)
    if not ratios:
        return "-"
    return fmt_ratio(ratios[0]) if len(ratios) == 1 else f"{fmt_ratio(ratios[0])} to {fmt_ratio(ratios[-1])}"


def _by_policy(sweep: Sweep, policy: str) -> list[Mapping[str, Any]]:
    return [v for v in sweep.variants if sweep.policy(v["name"]) == policy]


def budget(facts: Sequence[Any]) -> str:
    """The training budget of the given runs: one sentence if shared, else the most common budget and each other
    one with the sweeps (or single runs) that trained at it, since a list of every run reads as noise."""
    groups: dict[tuple[Any, Any], list[str]] = {}
    for f in facts:
        groups.setdefault((f.steps, f.batch), []).append(_sweep_label(f.path))
    (steps, batch), _ = max(groups.items(), key=lambda item: len(item[1]))
    common = f"{steps} optimiser steps at batch {batch} (read from each run's config.gin)"
    if len(groups) == 1:
        return f"Every run trained for {common}."
    others = [f"{s} steps at batch {b} ({join_words(list(dict.fromkeys(names)))})"
              for (s, b), names in groups.items() if (s, b) != (steps, batch)]
    return f"Runs trained for {common}, except {'; '.join(others)}."


def evaluation(facts: Sequence[Any]) -> str:
    groups: dict[tuple[int, ...], list[Any]] = {}
    for f in facts:
        groups.setdefault(tuple(f.eval_seeds), []).append(f)
    parts = [f"{len(seeds)} episodes on seeds {seeds[0]}-{seeds[-1]} (at most {runs[0].max_steps} steps each)"
             if seeds else "no recorded seeds" for seeds, runs in groups.items()]
    head = "Every run was evaluated on " if len(groups) == 1 else "Evaluations differ between runs: "
    return head + "; ".join(parts) + "."


def _run_label(path: Any) -> str:
    return "/".join(path.parts[-3:]) if path.name.startswith("seed") else path.name


def _sweep_label(path: Any) -> str:
    """The sweep a run belongs to (the directory above its ``variants/``), else the run's own label."""
    parts = path.parts
    return parts[parts.index("variants") - 1] if "variants" in parts[1:] else _run_label(path)
