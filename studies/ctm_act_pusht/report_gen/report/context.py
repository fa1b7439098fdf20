"""The template's context: tables, figures and generated sentences for every section, from the loaded inputs.

Figures are written through ``save(figure, stem) -> file name`` so this module stays free of paths.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Callable, Mapping, Sequence

from matplotlib.figure import Figure

from polibench.metric_table import VIEWS
from polibench.rundir import RunDir
from polibench.viz.figures.halting import ticks_per_third
from report_gen.figures.budget import budget_figure
from report_gen.figures.budget import collect as collect_budgets
from report_gen.figures.results import FOREST_METRICS, comparison_figure, forest_figure, shows_latency
from report_gen.report import narrative
from report_gen.report.anchors import anchors_table
from report_gen.report.budget_shift import budget_shift
from report_gen.report.format import Tex, count_words, escape, join_words, runs_label
from report_gen.report.headline import call_setting, first_seeds_tilt, headline_facts
from report_gen.report.hyperparameters import hyperparameter_table
from report_gen.report.inputs import REFERENCE_PREFIX, Inputs, Run, RunFacts, Sweep, config_value, steps_of
from report_gen.report.names import axis_name, policy_name, variant_name
from report_gen.report.questions import (
    OTHER,
    QUESTIONS,
    Question,
    assign,
    axis_key,
    pair_verdicts,
    question_flags,
    sweep_label,
    verdict_table,
)
from report_gen.report.speed import SpeedFile
from report_gen.report.tables import (
    LEGEND,
    Table,
    cost_table,
    outcome_table,
    question_table,
    seeds_and_episodes,
    speed_table,
)
from report_gen.report.ties import mark_ties
from report_gen.report.viz import VizFigure

Save = Callable[[Figure, str], str]


def build_context(inputs: Inputs, viz: Sequence[VizFigure], viz_files: Sequence[str], title: str,
                  save: Save, speed: Sequence[SpeedFile] = (), anchors: Sequence[Mapping[str, Any]] = (),
                  human: Mapping[str, Any] | None = None) -> dict[str, Any]:
    headline = _comparison_block(inputs.headline, "headline", save) if inputs.headline else None
    runs = _runs_block(inputs.runs, save) if inputs.runs else None
    facts = inputs.all_runs()
    questions = [_question_block(q, sweeps, save) for q, sweeps in assign(inputs.ablations)]
    return {
        "title": title,
        "date": datetime.date.today().isoformat(),
        "abstract": _abstract(inputs, facts, questions),
        "h": headline_facts(inputs.headline) if inputs.headline else {},
        "tilt": next((t for s in (inputs.headline, *inputs.other_budgets) if s for t in [first_seeds_tilt(s)] if t),
                     []),
        "hyperparameters": hyperparameter_table(inputs.headline) if inputs.headline else None,
        "experiments": {"budget": narrative.budget(facts), "evaluation": narrative.evaluation(facts),
                        "machines": _machines(facts), "setup": _setup_table(inputs)},
        "headline": headline,
        "budgets": [_comparison_block(s, f"budget{i}", save) for i, s in enumerate(inputs.other_budgets)],
        "budget_figure": _budget_figure(inputs, save),
        "shift": budget_shift(inputs.budgets()) if inputs.headline else None,
        "anchors": (anchors_table(anchors, _named(inputs.headline), _budget_words(inputs.headline))
                    if anchors and inputs.headline else None),
        "human": human,
        "references": _references_block(inputs) if inputs.references else None,
        "runs": runs,
        "speed": _speed_block(speed) if speed else None,
        "questions": {q["key"]: q for q in questions},
        "question_order": [q["key"] for q in questions],
        "flags": {q.key: {} for q in (*QUESTIONS, OTHER)} | {q["key"]: q["flags"] for q in questions},
        "viz": [{"file": f, "title": v.title, "caption": v.caption, "run": v.run,
                 "run_label": runs_label(v.run.split(", ")), "kind": v.source.stem,
                 "gated": _gated(v.run), "facts": v.facts} for v, f in zip(viz, viz_files)],
        "viz_compute": {f: c for v, f in zip(viz, viz_files) if v.source.stem == "compute" or v.episodes
                        for c in [_compute_words(v.episodes or (v.run,))] if c},
    }


def _named(sweep: Sweep) -> list[dict[str, Any]]:
    """The sweep's variants under the names a reader uses ("CTM-ACT (unet)" for ``ctm_act_unet``), tie-marked
    against each other for the old report's prose."""
    marked = mark_ties({v["name"]: v["metrics"] for v in sweep.variants})
    return [{**v, "name": variant_name(axis_key(sweep), v["name"]), "metrics": marked[v["name"]]}
            for v in sweep.variants]


def _comparison_block(sweep: Sweep, key: str, save: Save) -> dict[str, Any]:
    """A headline comparison at one budget: tables, the interval chart and the success/latency scatter, the
    ranking on each outcome, and a table of every CTM-ACT variant's paired verdict against each baseline."""
    entries = _named(sweep)
    facts = {variant_name(axis_key(sweep), n): f for n, f in sweep.runs.items()}
    what = f"{_budget_words(sweep)}, {_seeds_words(sweep)}"
    timing = f"{call_setting(sweep)}, one thread, on a machine shared with other runs"
    figures = [_figure(save(comparison_figure(entries, FOREST_METRICS), f"{key}_bars"),
                       f"Headline at {what}: mean and 95% interval per policy on success, coverage and jerk (grey "
                       "bars: worse than the best on that metric; dots: training-seed means)"
                       + (f"; right, success against time per model call ({timing}, log scale), both with "
                          "95% intervals." if shows_latency(entries) else "."), f"fig:{key}-bars")]
    baselines = [v["name"] for v in sweep.variants if sweep.policy(v["name"]) in ("act", "diffusion")]
    pairs = [(v["name"], b) for b in baselines for v in sweep.variants if sweep.policy(v["name"]) == "ctm_act"]
    verdicts = (verdict_table({sweep.path.name: pair_verdicts(sweep, pairs)},
                              f"Paired verdicts at {what}: each CTM-ACT configuration against each baseline.",
                              f"tab:{key}-verdicts", probability=True) if pairs else None)
    return {
        "what": what,
        "path": str(sweep.path),
        "commands": sweep.commands,
        "seeds": ", ".join(map(str, sweep.results.get("seeds", []))),
        "tables": [
            outcome_table(entries, f"Task outcome at {what}. {LEGEND}", f"tab:{key}-outcome",
                          ("success_rate", "avg_max_coverage", "avg_max_reward", "jerk")),
            *([verdicts] if verdicts else []),
            cost_table(entries, facts, f"Cost at {what}: parameters, training wall time per seed, time per model "
                       f"call ({timing}), CTM ticks per call and jerk, same intervals and marks.",
                       f"tab:{key}-cost"),
        ],
        "figures": figures,
        "findings": [narrative.ranking(entries, m) for m in ("success_rate", "avg_max_coverage", "jerk")]
                    + narrative.ticks_used(sweep),
        "verdicts": f"tab:{key}-verdicts" if verdicts else None,
    }


def _budget_figure(inputs: Inputs, save: Save) -> dict[str, str] | None:
    """Success and coverage against training steps (learning curves on the check seeds where runs logged them,
    benchmark evaluations per budget); None with fewer than two budgets and no curves."""
    budgets = inputs.budgets()
    policies = collect_budgets([s.path for s in budgets])
    if len({steps_of(s) for s in budgets}) < 2 and not any(p.curves for p in policies):
        return None  # two sweeps at one budget (50 and 500 episodes) are not a budget axis
    for p in policies:
        p.name = policy_name(p.name)
    steps = join_words(list(dict.fromkeys(_budget_words(s) for s in budgets)))
    return _figure(save(budget_figure(policies), "budget"),
                   f"Success and average max coverage against training steps ({steps}). Points with bars: the "
                   "benchmark evaluation at the end of each budget (mean and 95% interval over all episodes of all "
                   "seeds). Lines: the quick checks on the check seeds during training (thin: one seed; thick: the "
                   "mean), which never touch the benchmark seeds.", "fig:budget")


def _question_block(question: Question, sweeps: Sequence[Sweep], save: Save) -> dict[str, Any]:
    """One ablation question: its sweeps, one table and one multi-panel figure over all of them, each variant's
    paired verdict against its sweep's base, and the flags the template's conditional sentences read."""
    groups = [(sweep_label(s), _named(s)) for s in sweeps]
    short = [(sweep_label(s, short=True), entries) for s, (_, entries) in zip(sweeps, groups)]
    verdicts = {s.path.name: pair_verdicts(s) for s in sweeps}
    key = f"q_{question.key}"
    return {
        "key": question.key,
        "title": question.title,
        "sweeps": [{"label": sweep_label(s), "path": str(s.path)} for s in sweeps],
        "table": question_table(groups, f"{_sentence(question.title)} Every sweep of this question, each variant "
                                        f"against the first of its sweep (its base). {LEGEND}", f"tab:{key}"),
        "figure": _figure(save(forest_figure(short), key),
                          f"{_sentence(question.title)} One row per variant under its sweep (seeds x episodes per "
                          "seed); mean and 95% interval; hollow: the sweep's base, dotted: the base's mean; red: worse "
                          "than the sweep's best.", f"fig:{key}"),
        "verdicts": verdict_table(verdicts, _sentence(question.title), f"tab:{key}-verdicts")
        if any(verdicts.values()) else None,
        "flags": question_flags(question.key, verdicts),
    }


def _sentence(title: str) -> str:
    """A title as the first sentence of a caption: "Are ticks needed?" stays, "Training precision" gets its full
    stop."""
    return title if title.endswith(("?", ".")) else f"{title}."


def _references_block(inputs: Inputs) -> dict[str, Any]:
    """Each reference implementation beside our policy it implements (``lerobot_act`` beside ``act``), taken from
    the headline comparison at the reference's budget, on its evaluation episodes where one has them: one table per
    pair, tie-marked within the pair, and the verdict on every ranked metric."""
    pairs, unmatched = [], []
    for sweep in inputs.references:
        for theirs in sweep.variants:
            ours = _same_protocol(inputs.budgets(), sweep, sweep.policy(theirs["name"]).removeprefix(REFERENCE_PREFIX))
            if ours:
                pairs.append((*ours, theirs, sweep))
            else:
                unmatched.append(theirs["name"])
    tables, findings = [], []
    for i, (comparison, ours, theirs, sweep) in enumerate(pairs):
        marked = mark_ties({e["name"]: e["metrics"] for e in (ours, theirs)})
        entries = [{**e, "metrics": marked[e["name"]], "name": label} for e, label in
                   ((ours, f"{policy_name(ours['name'])} (ours)"), (theirs, policy_name(theirs["name"])))]
        what = (f"our {policy_name(ours['name'])} (runs of {comparison.path.name}) beside "
                f"{policy_name(theirs['name'])}, same budget and data")
        tables += [outcome_table(entries, f"Task outcome: {what}. {LEGEND}", f"tab:reference{i}-outcome"),
                   outcome_table(entries, f"Smoothness of the executed trajectory (lower is smoother): {what}. "
                                 f"{LEGEND}", f"tab:reference{i}-smoothness", VIEWS["report_smoothness"])]
        findings.append(narrative.reference_check(ours, theirs))
    if unmatched:
        findings.append(f"No headline comparison at the budget of {', '.join(unmatched)} has the policy it "
                        "implements; not compared.")
    return {"paths": [str(s.path) for s in inputs.references],
            "commands": [c for s in inputs.references for c in s.commands], "tables": tables, "findings": findings}


def _same_protocol(comparisons: Sequence[Sweep], reference: Sweep, policy: str
                   ) -> tuple[Sweep, dict[str, Any]] | None:
    """The comparison sweep and its variant of ``policy`` to set beside a reference sweep: trained for the same
    steps, evaluated on the same start seeds if any comparison was (else on the most episodes); None without one
    at that budget, since a reference is only a check on a baseline trained as long."""
    seeds = reference.runs[reference.variants[0]["name"]][0].eval_seeds
    candidates = [(c, v) for c in comparisons if steps_of(c) == steps_of(reference)
                  for v in c.variants if c.policy(v["name"]) == policy]
    if not candidates:
        return None
    return max(candidates, key=lambda cv: (cv[0].runs[cv[1]["name"]][0].eval_seeds == seeds,
                                           len(cv[0].runs[cv[1]["name"]][0].eval_seeds)))


def _runs_block(runs: Sequence[Run], save: Save) -> dict[str, Any]:
    entries = _runs_entries(runs)
    facts = {e["name"]: [r.facts] for e, r in zip(entries, runs)}
    figures = [_figure(save(comparison_figure(entries, FOREST_METRICS), "runs_bars"),
                       "Single runs: mean and 95% interval over evaluation episodes"
                       + ("; right, success rate against latency per model call (log scale)."
                          if shows_latency(entries) else "."), "fig:runs-bars")]
    legend = f"One training seed per run: intervals cover evaluation episodes only. {LEGEND}"
    return {
        "findings": _run_findings(entries),
        "tables": [outcome_table(entries, f"Task outcome of single runs. {legend}", "tab:runs-outcome"),
                   cost_table(entries, facts, f"Cost of single runs. {legend}", "tab:runs-cost")],
        "figures": figures,
        "paths": [str(r.facts.path) for r in runs],
    }


def _runs_entries(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Single runs as entries, tie-marked against each other like the variants of a sweep."""
    names = [_unique_name(r, [r.facts.path.name for r in runs]) for r in runs]
    marked = mark_ties({n: r.entry["metrics"] for n, r in zip(names, runs)})
    return [{**r.entry, "name": n, "metrics": marked[n]} for n, r in zip(names, runs)]


def _run_findings(entries: Sequence[dict[str, Any]]) -> list[str]:
    return [narrative.ranking(entries, m) for m in ("success_rate", "avg_max_coverage")]


def _speed_block(files: Sequence[SpeedFile]) -> dict[str, Any]:
    """The speed table with its machines in the caption: ratios mean nothing across machines, so each file's
    machine is named next to its columns."""
    machines = "; ".join(f"{f.tag}: {f.machine}" for f in files)
    caption = ("Speed benchmarks (pytest-benchmark, one session per file, untrained weights): median time per call "
               "in ms and its ratio to ACT's in the same file (inference rows: an ACT model call with chunks of 8; "
               "training rows: an ACT training step); a dash where a file lacks the row or the row has no ACT "
               f"reference. Machines: {machines}.")
    return {
        "paths": [str(f.path) for f in files],
        "findings": [s for f in files for s in narrative.speed_findings(f)],
        "table": speed_table(files, caption, "tab:speed"),
    }


def _abstract(inputs: Inputs, facts: Sequence[RunFacts], questions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the abstract's sentences read (the template writes them; the headline's verdicts come from
    :func:`headline_facts`): the headline's budget, seeds and policies, and what the halting and capacity questions
    found; without a headline, what the report covers instead."""
    by_key = {q["key"]: q["flags"] for q in questions}
    out: dict[str, Any] = {"halting": by_key.get("halting", {}),
                           "capacity_helps": bool(by_key.get("capacity", {}).get("capacity_helps")),
                           "capacity_steps": by_key.get("capacity", {}).get("capacity_steps", ""),
                           # the calibrated halting rule measured on the most training seeds (its own weights' rule)
                           "calibrated": max((c for c in by_key.get("calibrated", {}).get("cheapest", [])
                                              if not c["swapped"]), key=lambda c: c["n_seeds"], default=None)}
    if inputs.headline:
        sweep = inputs.headline
        out |= {"budget": _budget_words(sweep), "seeds": _seeds_words(sweep),
                "policies": join_words([v["name"] for v in _named(sweep)])}
    else:
        out["covers"] = [f"This report covers {count_words(len(inputs.ablations), 'ablation sweep')} and "
                         f"{count_words(len(inputs.runs), 'single run')} on the Push-T keypoints task; no headline "
                         f"comparison over policies was given. {narrative.budget(facts)}"]
        if inputs.runs:
            out["covers"] += [f"Among the single runs: {s[0].lower()}{s[1:]}"
                              for s in _run_findings(_runs_entries(inputs.runs))]
    return out


def _seeds_words(sweep: Sweep) -> str:
    """"3 training seeds x 500 episodes" (per seed), from the sweep's results."""
    seeds, episodes = seeds_and_episodes(sweep.variants[0])
    return f"{count_words(seeds, 'training seed')} x {episodes} episodes"


def _budget_words(sweep: Sweep) -> str:
    """The sweep's training budget in a few words ("6000 steps"; several budgets are listed)."""
    steps = sorted({f.steps for runs in sweep.runs.values() for f in runs if f.steps})
    return " / ".join(f"{s} steps" for s in steps) or "-"


def _machines(facts: Sequence[RunFacts]) -> list[str]:
    """One line per kind of machine: how many runs trained on it and on how many hosts (a host's platform string
    is in each run.json; listing them would say nothing a reader can use)."""
    hosts: dict[str, list[str]] = {}
    for f in facts:
        hosts.setdefault(f.machine, []).append(f.host)
    return [f"{machine}: {count_words(len(h), 'run')} on {count_words(len(set(h)), 'host')}"
            for machine, h in hosts.items()]


def _setup_table(inputs: Inputs) -> Table:
    """One row per sweep or single run: what it varied, policies, training seeds, budget and evaluation, from its
    directories (the per-variant settings are in the sweep's sweep.json)."""
    rows = []
    for sweep in inputs.sweeps():
        facts = [f for fs in sweep.runs.values() for f in fs]
        rows.append(_setup_row(sweep.path.name, axis_name(axis_key(sweep)), facts,
                               max(len(fs) for fs in sweep.runs.values())))
    rows += [_setup_row(r.facts.path.name, "single run", [r.facts], 1) for r in inputs.runs]
    return Table("Every sweep and run of this report, read from its config.gin, run.json and eval/metrics.json: "
                 "what it varied, the policies, training seeds per variant, optimiser steps x batch, and the "
                 "evaluation episodes (their seeds); benchmark seeds start at 100000, check seeds at 200000.",
                 "tab:setup", ["sweep", "varies", "policies", "seeds", "steps x batch", "episodes (seeds)"], rows)


def _setup_row(name: str, varies: str, facts: Sequence[RunFacts], seeds: int) -> list[Tex]:
    policies = ", ".join(sorted({policy_name(f.policy) for f in facts}))
    budgets = ", ".join(sorted({f"{f.steps} x {f.batch}" for f in facts}))
    evals = sorted({(len(f.eval_seeds), f.eval_seeds[0], f.eval_seeds[-1]) for f in facts if f.eval_seeds})
    episodes = ", ".join(f"{n} ({a}-{b})" for n, a, b in evals) or "-"
    return [Tex(escape(c)) for c in (name, varies, policies, seeds, budgets, episodes)]


def _gated(run: str) -> bool:
    """Whether a visualised run's CTM core gates its neuron groups (its saved config binds a gating other than
    none); False for other policies and for runs whose config is not at hand."""
    config = RunDir(run).config_path
    gating = config_value(config.read_text(), "ctm_act.gating") if config.is_file() else None
    return gating is not None and gating != "@gating.none"


def _compute_words(runs: Sequence[str]) -> dict[str, Any] | None:
    """Mean ticks per call of the easy, medium and hard thirds of the runs' evaluation episodes pooled, in words
    ("4.8, 3.9 and 4.0"), how many episodes, whether their intervals overlap and whether they rise from easy to
    hard; None without saved episodes."""
    paths = [RunDir(r).episodes_path for r in runs]
    if not paths or not all(p.is_file() for p in paths):
        return None
    thirds = ticks_per_third([json.loads(line) for p in paths for line in p.read_text().splitlines() if line])
    if len(thirds) < 2:
        return None
    overlap = max(t["ci_low"] for t in thirds) <= min(t["ci_high"] for t in thirds)
    means = [t["mean"] for t in thirds]
    return {"words": join_words([f"{m:.1f}" for m in means]), "overlap": overlap, "runs": len(runs),
            "episodes": sum(t["n"] for t in thirds), "rising": all(a < b for a, b in zip(means, means[1:]))}


def _figure(file: str, caption: str, label: str) -> dict[str, str]:
    return {"file": file, "caption": caption, "label": label}


def _unique_name(run: Run, names: Sequence[str]) -> str:
    path = run.facts.path
    return path.name if names.count(path.name) == 1 else f"{path.parent.name}/{path.name}"
