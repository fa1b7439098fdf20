"""The template's context: tables, figures and generated sentences for every section, from the loaded inputs.

Figures are written through ``save(figure, stem) -> file name`` so this module stays free of paths.
"""

from __future__ import annotations

import datetime
from typing import Any, Callable, Mapping, Sequence

from matplotlib.figure import Figure

from polibench.metric_table import VIEWS
from polibench.sweep.aggregate import mark_ties
from report_gen.figures.results import interval_bars, latency_success_scatter
from report_gen.report import narrative
from report_gen.report.anchors import anchors_table
from report_gen.report.format import Tex, escape
from report_gen.report.hyperparameters import hyperparameter_table
from report_gen.report.inputs import REFERENCE_PREFIX, Inputs, Run, RunFacts, Sweep
from report_gen.report.speed import SpeedFile
from report_gen.report.tables import LEGEND, Table, cost_table, outcome_table, speed_table
from report_gen.report.viz import VizFigure

Save = Callable[[Figure, str], str]


def build_context(inputs: Inputs, viz: Sequence[VizFigure], viz_files: Sequence[str], title: str,
                  save: Save, speed: Sequence[SpeedFile] = (), anchors: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    headline = _sweep_block(inputs.headline, "headline", save) if inputs.headline else None
    runs = _runs_block(inputs.runs, save) if inputs.runs else None
    facts = inputs.all_runs()
    return {
        "title": title,
        "date": datetime.date.today().isoformat(),
        "abstract": _abstract(inputs, facts),
        "hyperparameters": hyperparameter_table(inputs.headline) if inputs.headline else None,
        "experiments": {"budget": narrative.budget(facts), "evaluation": narrative.evaluation(facts),
                        "machines": _machines(facts), "setup": _setup_table(inputs)},
        "headline": headline,
        "anchors": (anchors_table(anchors, inputs.headline.variants, _budget_words(inputs.headline))
                    if anchors and inputs.headline else None),
        "references": _references_block(inputs) if inputs.references else None,
        "runs": runs,
        "speed": _speed_block(speed) if speed else None,
        "ablations": [_sweep_block(s, f"ablation{i}", save) for i, s in enumerate(inputs.ablations)],
        "viz": [{"file": f, "title": v.title, "caption": v.caption, "run": v.run} for v, f in zip(viz, viz_files)],
        "discussion": _discussion(inputs.headline) if inputs.headline else [],
        "conclusion": narrative.conclusion(inputs.headline) if inputs.headline else [],
    }


def _sweep_block(sweep: Sweep, key: str, save: Save) -> dict[str, Any]:
    r = sweep.results
    entries = sweep.variants
    what = f"axis {r['axis']} ({r['target']})"
    figures = [_figure(save(interval_bars(entries), f"{key}_bars"),
                       f"Sweep over {what}: mean and 95% interval per variant; grey bars are worse than the best, "
                       "dots are training-seed means.", f"fig:{key}-bars")]
    if any("latency_per_call_ms" in e["metrics"] for e in entries):
        figures.append(_figure(save(latency_success_scatter(entries), f"{key}_scatter"),
                               f"Sweep over {what}: success rate against latency per model call (log scale).",
                               f"fig:{key}-scatter"))
    findings = [narrative.ranking(entries, m) for m in VIEWS["report_outcome"]]
    findings += narrative.latency_ratios(sweep) + narrative.ticks_used(sweep) + [narrative.seed_caveat(sweep)]
    return {
        "title": r["axis"] if r["axis"] == r["target"] else f"{r['axis']} ({r['target']})",
        "name": sweep.path.name,  # tells apart sweeps over the same axis
        "path": str(sweep.path),
        "command": sweep.command,
        "base": str(r.get("base", "")),
        "seeds": ", ".join(map(str, r.get("seeds", []))),
        "tables": [
            outcome_table(entries, f"Task outcome, sweep over {what}. {LEGEND}", f"tab:{key}-outcome"),
            cost_table(entries, sweep.runs, f"Cost, sweep over {what}: parameters, training wall time per seed, "
                       "latency per model call (batch 1, one thread), CTM ticks per call and jerk of the executed "
                       "trajectory (lower is smoother), same interval and marks.", f"tab:{key}-cost"),
        ],
        "figures": figures,
        "findings": findings,
    }


def _references_block(inputs: Inputs) -> dict[str, Any]:
    """Each headline policy beside its reference implementation (``lerobot_act`` beside ``act``): one table per
    pair, tie-marked within the pair, and the verdict on every ranked metric."""
    headline, pairs, unmatched = inputs.headline, [], []
    for sweep in inputs.references:
        for theirs in sweep.variants:
            ours = [v for v in headline.variants if headline.policy(v["name"]) ==
                    sweep.policy(theirs["name"]).removeprefix(REFERENCE_PREFIX)]
            if ours:
                pairs.append((ours[0], theirs, sweep))
            else:
                unmatched.append(theirs["name"])
    tables, findings = [], []
    for i, (ours, theirs, sweep) in enumerate(pairs):
        marked = mark_ties({e["name"]: e["metrics"] for e in (ours, theirs)})
        entries = [{**e, "metrics": marked[e["name"]]} for e in (ours, theirs)]
        what = f"{ours['name']} (headline runs) beside {theirs['name']} ({sweep.path.name}), same budget and data"
        tables += [outcome_table(entries, f"Task outcome: {what}. {LEGEND}", f"tab:reference{i}-outcome"),
                   outcome_table(entries, f"Smoothness of the executed trajectory (lower is smoother): {what}. "
                                 f"{LEGEND}", f"tab:reference{i}-smoothness", VIEWS["report_smoothness"])]
        findings.append(narrative.reference_check(ours, theirs))
    if unmatched:
        findings.append(f"No headline variant has the policy that {', '.join(unmatched)} implements; not compared.")
    return {"paths": [str(s.path) for s in inputs.references], "commands": [s.command for s in inputs.references],
            "tables": tables, "findings": findings}


def _runs_block(runs: Sequence[Run], save: Save) -> dict[str, Any]:
    entries = _runs_entries(runs)
    facts = {e["name"]: [r.facts] for e, r in zip(entries, runs)}
    figures = [_figure(save(interval_bars(entries, title="single runs: mean and 95% interval"), "runs_bars"),
                       "Single runs: mean and 95% interval over evaluation episodes.", "fig:runs-bars")]
    if any("latency_per_call_ms" in e["metrics"] for e in entries):
        figures.append(_figure(save(latency_success_scatter(entries), "runs_scatter"),
                               "Single runs: success rate against latency per model call (log scale).",
                               "fig:runs-scatter"))
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


def _abstract(inputs: Inputs, facts: Sequence[RunFacts]) -> list[str]:
    out = []
    if inputs.headline:
        sweep = inputs.headline
        names = [v["name"] for v in sweep.variants]
        seeds = len(sweep.results.get("seeds", []))
        out.append(f"We compare {len(names)} policies ({', '.join(names)}) on the Push-T keypoints task with "
                   f"{seeds} training seed{'' if seeds == 1 else 's'} each. {narrative.budget(facts)}")
        out += [narrative.ranking(sweep.variants, m) for m in ("success_rate", "avg_max_coverage", "jerk")]
        ratios = _ratio_range(sweep)
        if ratios:
            out.append(ratios)
    else:
        out.append(f"This report covers {len(inputs.ablations)} ablation sweep(s) and {len(inputs.runs)} single "
                   f"run(s) on the Push-T keypoints task; no headline comparison over policies was given. "
                   f"{narrative.budget(facts)}")
        if inputs.runs:
            out += [f"Among the single runs: {s[0].lower()}{s[1:]}" for s in _run_findings(_runs_entries(inputs.runs))]
    return out


def _ratio_range(sweep: Sweep) -> str | None:
    act = [v for v in sweep.variants if sweep.policy(v["name"]) == "act" and "latency_per_call_ms" in v["metrics"]]
    ctm = [v for v in sweep.variants if sweep.policy(v["name"]) == "ctm_act" and "latency_per_call_ms" in v["metrics"]]
    if not act or not ctm:
        return None
    base = act[0]["metrics"]["latency_per_call_ms"]["mean"]
    ratios = sorted(v["metrics"]["latency_per_call_ms"]["mean"] / base for v in ctm)
    span = f"{ratios[0]:.1f}x" if len(ratios) == 1 else f"{ratios[0]:.1f}x to {ratios[-1]:.1f}x"
    return f"A CTM-ACT model call took {span} the latency of an ACT model call ({act[0]['name']})."


def _method(facts: Sequence[RunFacts]) -> dict[str, Any] | None:
    """The CTM-ACT sizes actually used, from the first CTM-ACT run's operative config."""
    ctm = [f for f in facts if f.policy == "ctm_act"]
    if not ctm:
        return None
    f = ctm[0]
    synapses = sorted({g.binding("ctm_act.synapse") or "?" for g in ctm})
    return {
        "neurons": f.binding("ctm_act.neurons"), "memory": f.binding("ctm_act.memory"),
        "ticks": f.ticks, "action_pairs": f.binding("ctm_act.action_pairs"),
        "out_pairs": f.binding("ctm_act.out_pairs"), "horizon": f.binding("ctm_act.horizon"),
        "n_action_steps": f.binding("ctm_act.n_action_steps"),
        "curriculum": f.binding("ctm_act.curriculum_fraction"),
        "halting": f.binding("ctm_act.halting"), "threshold": f.binding("variance.threshold"),
        "halting_enabled": f.binding("variance.enabled"),
        "synapses": ", ".join(s.removeprefix("@synapse.") for s in synapses),
    }


def _budget_words(sweep: Sweep) -> str:
    """The sweep's training budget in a few words ("6000 steps"; several budgets are listed)."""
    steps = sorted({f.steps for runs in sweep.runs.values() for f in runs if f.steps})
    return " / ".join(f"{s} steps" for s in steps) or "-"


def _machines(facts: Sequence[RunFacts]) -> list[str]:
    counts: dict[str, int] = {}
    for f in facts:
        counts[f.machine] = counts.get(f.machine, 0) + 1
    return [f"{machine}: {n} run(s)" for machine, n in counts.items()]


def _setup_table(inputs: Inputs) -> Table:
    """One row per variant or single run: policy, budget, learning rate and evaluation, from its directories."""
    groups: list[tuple[str, Sequence[RunFacts]]] = []
    for sweep in inputs.sweeps():
        groups += [(f"{sweep.path.name}: {name}", facts) for name, facts in sweep.runs.items()]
    groups += [(r.facts.path.name, [r.facts]) for r in inputs.runs]
    rows = []
    for name, facts in groups:
        f = facts[0]
        seeds = f"{len(f.eval_seeds)} ({f.eval_seeds[0]}-{f.eval_seeds[-1]})" if f.eval_seeds else "-"
        rows.append([Tex(escape(c)) for c in (name, f.policy, len(facts), f"{f.steps} x {f.batch}",
                                              "-" if f.lr is None else f"{f.lr:g}", seeds, f.max_steps)])
    return Table("Experimental setup per variant, read from each run's config.gin, run.json and eval/metrics.json: "
                 "training seeds, optimiser steps x batch, learning rate, evaluation episodes (seeds) and the episode "
                 "step limit.", "tab:setup",
                 ["variant", "policy", "seeds", "steps x batch", "lr", "episodes (seeds)", "max steps"], rows)


def _discussion(sweep: Sweep) -> list[str]:
    out = narrative.head_to_head(sweep, "avg_max_coverage") + narrative.head_to_head(sweep, "success_rate")
    method = _method([f for facts in sweep.runs.values() for f in facts])
    if method and method["halting_enabled"] is not None:
        state = "on" if method["halting_enabled"] == "True" else "off"
        out.append(f"CTM-ACT halting was {state} at evaluation (certainty threshold {method['threshold']}).")
    return out + narrative.ticks_used(sweep) + [narrative.seed_caveat(sweep)]


def _figure(file: str, caption: str, label: str) -> dict[str, str]:
    return {"file": file, "caption": caption, "label": label}


def _unique_name(run: Run, names: Sequence[str]) -> str:
    path = run.facts.path
    return path.name if names.count(path.name) == 1 else f"{path.parent.name}/{path.name}"
