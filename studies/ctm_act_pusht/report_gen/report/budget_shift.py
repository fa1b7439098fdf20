"""Does the headline's ranking hold, narrow or flip with the training budget? The verdicts of one CTM-ACT
configuration against each baseline, at every budget a headline comparison was run.

Each verdict is the same paired verdict the Results print (:func:`report_gen.report.questions.pair_verdicts`), taken
at each budget from the comparison sweep that evaluated both policies on the most episodes (a budget may have a
50- and a 500-episode sweep, and not every policy in both). The CTM-ACT configuration is picked among those every
budget has by the headline's rule (:func:`report_gen.report.headline.headline_ctm`), so the verdicts follow one
configuration, chosen without looking at its scores.
"""

from __future__ import annotations

from typing import Any, Sequence

from report_gen.report.format import count_words, join_words
from report_gen.report.headline import BASELINES, CLAUSES, VERDICT_WORDS, clause, clauses_sentence, headline_ctm
from report_gen.report.inputs import Sweep, steps_of
from report_gen.report.names import policy_name
from report_gen.report.questions import pair_verdicts

#: How a verdict reads where it changes between budgets ("goes from tied to behind on success").
POSITION = {"better": "ahead", "tie": "tied", "worse": "behind"}


def _episodes(sweep: Sweep, variant: str) -> int:
    return sum(len(f.eval_seeds) for f in sweep.runs[variant])


def _tracked(budgets: Sequence[Sweep]) -> str | None:
    """The CTM-ACT variant every budget has, by the headline's rule (:func:`headline_ctm`, never by a score)."""
    shared = set.intersection(*({v["name"] for v in s.variants if s.policy(v["name"]) == "ctm_act"} for s in budgets))
    pick = headline_ctm([v["name"] for v in budgets[-1].variants if v["name"] in shared
                         and "avg_max_coverage" in v["metrics"]])
    return pick[0] if pick else None


def budget_shift(budgets: Sequence[Sweep]) -> dict[str, Any] | None:
    """Per budget (smallest first) the tracked CTM-ACT's verdict groups against the baselines and a sentence, and
    every verdict that differs between the smallest and the largest budget; None with fewer than two budgets, or
    without a CTM-ACT variant and a baseline at both ends."""
    steps = sorted({steps_of(s) for s in budgets})
    if len(steps) < 2:
        return None
    at = {n: [s for s in budgets if steps_of(s) == n] for n in steps}
    widest = [max(at[n], key=lambda s: len(s.variants)) for n in steps]  # per budget, the sweep of most policies
    ctm = _tracked(widest)
    if ctm is None:
        return None
    ctm_name = policy_name(ctm)
    largest = widest[-1]
    baselines = [v["name"] for v in largest.variants if largest.policy(v["name"]) in BASELINES]
    rows = []
    for n in steps:
        verdicts, sources = {}, []
        for base in baselines:
            both = [s for s in at[n] if {ctm, base} <= set(s.runs)]
            if not both:
                continue
            sweep = max(both, key=lambda s: _episodes(s, base))
            pair = pair_verdicts(sweep, [(ctm, base)])[0]
            verdicts[base] = {m: pair.verdict(m) for m in CLAUSES if m in pair.results}
            sources.append((policy_name(base), f"{sweep.path.name}, {count_words(len(sweep.runs[base]), 'seed')} x "
                                               f"{len(sweep.runs[base][0].eval_seeds)} episodes"))
        groups = {m: {w: [policy_name(b) for b, v in verdicts.items() if v.get(m) == w]
                      for w in ("better", "tie", "worse")} for m in CLAUSES}
        clauses = [c for c in (clause(m, groups[m]) for m in CLAUSES) if c]
        rows.append({"steps": n, "verdicts": verdicts,
                     "sentence": f"At {n} steps {clauses_sentence(clauses)} ({_sources(sources)})." if clauses else ""})
    first, last = rows[0]["verdicts"], rows[-1]["verdicts"]
    changes = [{"baseline": policy_name(b), "metric": m, "from": first[b][m], "to": last[b][m]}
               for b in baselines if b in first and b in last for m in CLAUSES
               if m in first[b] and m in last[b] and first[b][m] != last[b][m]]
    rank = {"worse": 0, "tie": 1, "better": 2}
    total = sum(len(set(first[b]) & set(last[b])) for b in baselines if b in first and b in last)
    return {"ctm": ctm_name, "rows": rows, "changes": changes, "first": steps[0], "last": steps[-1],
            "flips": [c for c in changes if {c["from"], c["to"]} == {"better", "worse"}],
            "lost_to": list(dict.fromkeys(c["baseline"] for c in changes if rank[c["to"]] < rank[c["from"]])),
            "gained_on": list(dict.fromkeys(c["baseline"] for c in changes if rank[c["to"]] > rank[c["from"]])),
            "summary": _summary(ctm_name, changes, steps[0], steps[-1], every=len(changes) == total)}


def _sources(sources: Sequence[tuple[str, str]]) -> str:
    """Where a budget's verdicts come from, each comparison named once: "all from headline_long, 3 seeds x 500
    episodes", or "against ACT: headline_6k_500, 3 seeds x 500 episodes; Diffusion Policy: headline, ..."."""
    by_source: dict[str, list[str]] = {}
    for baseline, source in sources:
        by_source.setdefault(source, []).append(baseline)
    if len(by_source) == 1:
        return f"all from {next(iter(by_source))}"
    return "against " + "; ".join(f"{join_words(bases)}: {source}" for source, bases in by_source.items())


def _summary(ctm: str, changes: Sequence[dict[str, str]], first: int, last: int, every: bool) -> str:
    """"From 6000 to 30000 steps, the verdicts of CTM-ACT (unet) move against Diffusion Policy from tied to behind
    on success and from tied to behind on coverage; the others hold."."""
    if not changes:
        return f"From {first} to {last} steps, every verdict of {ctm} holds."
    by_base: dict[str, list[str]] = {}
    for c in changes:
        by_base.setdefault(c["baseline"], []).append(
            f"from {POSITION[c['from']]} to {POSITION[c['to']]} on {VERDICT_WORDS[c['metric']][2]}")
    parts = [f"against {b} {join_words(words)}" for b, words in by_base.items()]
    rest = "" if every else "; the others hold"
    return f"From {first} to {last} steps, the verdicts of {ctm} move {join_words(parts)}{rest}."
