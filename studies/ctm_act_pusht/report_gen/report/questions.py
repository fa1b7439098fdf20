"""The ablation questions the report answers, and the paired verdicts that answer them.

Every ablation sweep is assigned to one question by what it varied (its axis), so five halting sweeps become one
subsection with one table and one figure, not five near-identical ones. Within a sweep, each variant is compared
with the sweep's first variant (its base: the default a screen varies one part of) by the paired bootstrap of
:func:`polibench.sweep.verdicts.compare` over the shared start seeds and the training seeds. The template holds
the authored text of each question; this module only states what the numbers say.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from polibench.io import read_json
from polibench.metric_table import METRICS
from polibench.rundir import RunDirError
from polibench.sweep.ablate import SWEEP_FILE
from polibench.sweep.verdicts import compare, score_matrix, variant_runs, verdict_of
from report_gen.report.format import Tex, count_words, escape, fmt_value, join_words
from report_gen.report.inputs import ReportError, Sweep, read_facts, steps_of
from report_gen.report.names import BUDGET_AXES, VALUES, axis_name, variant_name
from report_gen.report.tables import Table, seeds_and_episodes

#: (summary metric in results.json, per-episode field); the words a verdict reads in are headline.VERDICT_WORDS
VERDICT_METRICS: tuple[tuple[str, str], ...] = (
    ("success_rate", "success"),
    ("avg_max_coverage", "max_coverage"),
    ("jerk", "jerk"),
)
#: Bootstrap replications for the report's verdicts: the same as `polibench verdicts`, so both state the same verdicts.
REPS = 2000


@dataclass(frozen=True)
class Question:
    """One ablation subsection: its key in the template, its title, and which sweeps answer it."""

    key: str
    title: str
    matches: Callable[[Sweep], bool]


def axis_key(sweep: Sweep) -> str:
    """The axis a sweep varied, with ticks changed at inference told apart from ticks at training."""
    axis = sweep.axis
    if axis == "policy.ctm_act.ticks" and sweep.results.get("inference_only"):
        return "ticks_inference"
    return axis


def _axes(*names: str) -> Callable[[Sweep], bool]:
    return lambda s: axis_key(s) in names


def _has_variant(name: str) -> Callable[[Sweep], bool]:
    """A sweep of whole configs that includes the config ``name`` (a screen run as a policy sweep)."""
    return lambda s: s.axis == "policy" and any(v["name"] == name for v in s.variants)


def _on_config(name: str) -> Callable[[Sweep], bool]:
    """A sweep that varies one part of the config ``gin/<name>.gin`` (its recorded base)."""
    return lambda s: Path(str(s.results.get("base", ""))).stem == name


def _only_act(sweep: Sweep) -> bool:
    return sweep.axis in ("policy", "reevaluate") and {sweep.policy(v["name"]) for v in sweep.variants} == {"act"}


QUESTIONS: tuple[Question, ...] = (
    Question("capacity", "Is it parameters? A capacity-matched ACT", _only_act),
    Question("ticks", "Are ticks needed?", _axes("policy.ctm_act.ticks", "ticks_inference")),
    Question("halting", "Does halting keep the outcome?", _axes("halting.variance.enabled")),
    Question("calibrated", "Halting with a calibrated budget",
             lambda s: s.axis == "halting" or s.axis.startswith("halting.")),
    Question("synapse", "Which synapse?", lambda s: _axes("synapse")(s) and not _on_config("ctm_act_best")(s)),
    Question("synchronisation", "Synchronisation: pairing, gating and read-out",
             _axes("pairing", "gating", "policy.ctm_act.read_out")),
    Question("neurons", "Neuron-level models and trace memory", _axes("neuron_model", "policy.ctm_act.memory")),
    Question("state", "State across calls and smoothness",
             lambda s: _axes("policy.ctm_act.train_windows", "policy.ctm_act.carry_state",
                             "policy.ctm_act.n_action_steps", "policy.ctm_act.temporal_ensemble_coeff")(s)
             or _has_variant("ctm_act_carry")(s)),
    Question("recipe", "Training recipe: curriculum, tick penalty, initialisation",
             _axes("policy.ctm_act.curriculum_fraction", "loss.tick_penalty.weight", "polibench.Experiment.init_from")),
    Question("combined", "The screened parts together",
             lambda s: _has_variant("ctm_act_best")(s) or _on_config("ctm_act_best")(s)),
    Question("precision", "Training precision", _axes("polibench.TrainConfig.precision")),
    Question("baselines", "Baseline details", _axes("loss.diffusion_mse.mask_padding")),
)
OTHER = Question("other", "Other ablations", lambda s: True)


def assign(ablations: Sequence[Sweep]) -> list[tuple[Question, list[Sweep]]]:
    """Each question with the sweeps that answer it, in the questions' order; unmatched sweeps under "other"."""
    groups: dict[str, list[Sweep]] = {}
    for sweep in ablations:
        question = next((q for q in QUESTIONS if q.matches(sweep)), OTHER)
        groups.setdefault(question.key, []).append(sweep)
    return [(q, groups[q.key]) for q in (*QUESTIONS, OTHER) if q.key in groups]


@dataclass(frozen=True)
class PairVerdict:
    """One variant against its sweep's base on each verdict metric: P(better) and the mean difference, with
    intervals, and the word the P interval gives (better / worse / tie)."""

    sweep: Sweep
    variant: str
    base: str
    results: Mapping[str, Mapping[str, Any]]
    #: the policy the base's runs trained (``act`` for an ACT rival from another sweep)
    base_policy: str = ""
    #: the axis of the sweep a rival base (``SWEEP/VARIANT``) comes from, read once when the pair is made
    rival_axis: str = ""

    def verdict(self, metric: str) -> str:
        return verdict_of(self.results[metric], METRICS[metric].better)

    def name(self, variant: str) -> str:
        """``variant`` (this pair's variant or base) as a reader names it; a rival from another sweep
        (``SWEEP/VARIANT``) by its own label or by its sweep's axis, with the sweep's directory."""
        if "/" not in variant:
            return variant_name(axis_key(self.sweep), variant)
        if (None, variant) in VALUES:
            return VALUES[(None, variant)]
        other, own = variant.split("/", 1)
        return f"{variant_name(self.rival_axis, own)} ({other})"


#: How the paired-difference table marks a verdict cell (the caption says it).
VERDICT_MARKS = {"better": r"\textbf{{{}}}\,$\uparrow$", "worse": r"\textit{{{}}}\,$\downarrow$", "tie": "{}"}
VERDICT_LEGEND = ("Each variant against the base its heading row names, paired over the same start seeds: mean "
                  "difference (variant minus base) [95% bootstrap interval]. Bold with an up arrow: better than the "
                  "base (the interval of P(better) lies above one half and that of the difference on the better "
                  "side of zero; for jerk, lower is better); italic with a down arrow: worse; plain: tied.")
PROBABILITY_LEGEND = (" P(better): the probability that the variant does better than the base on a random start "
                      "(0.5: as likely worse), with its 95% interval.")


def verdict_table(verdicts: Mapping[str, Sequence[PairVerdict]], caption: str, label: str,
                  probability: bool = False) -> Table:
    """Every pair verdict of a question as one table: a heading row per sweep and base naming both (the base only
    where the table holds one sweep), then one row per variant with the paired difference on each verdict metric,
    its verdict as a mark (one table instead of a sentence per variant); with ``probability``, each difference is
    followed by P(better) and its interval, the other half of the verdict (for a headline, where the chance of
    doing better is the question)."""
    metrics = [m for m, _ in VERDICT_METRICS if any(m in v.results for vs in verdicts.values() for v in vs)]
    rows: list[list[Tex]] = []
    for pairs in verdicts.values():
        for i, v in enumerate(pairs):
            if i == 0 or v.base != pairs[i - 1].base:  # the sweep is named where the table holds several
                where = f"{sweep_label(v.sweep)}, " if len(verdicts) > 1 else ""
                rows.append([Tex(escape(f"{where}against {v.name(v.base)}"))])
            cells = [Tex(escape(v.name(v.variant)))]
            for metric in metrics:
                c = v.results.get(metric)
                if c is None:
                    cells += [Tex("-")] * (1 + probability)
                    continue
                cells.append(Tex(VERDICT_MARKS[v.verdict(metric)].format(escape(difference_words(metric, c)))))
                if probability:
                    cells.append(Tex(escape(_probability(c))))
            rows.append(cells)
    header = ["variant"]
    for m in metrics:
        header += [f"{METRICS[m].report_heading} difference"] + (["P(better)"] if probability else [])
    legend = VERDICT_LEGEND + (PROBABILITY_LEGEND if probability else "")
    return Table(f"{caption} {legend}", label, header, rows)


def pair_verdicts(sweep: Sweep, pairs: Sequence[tuple[str, str]] | None = None, reps: int = REPS) -> list[PairVerdict]:
    """Each (variant, base) of ``pairs`` (default: :func:`default_pairs`) on the verdict metrics both were
    evaluated on, over the same start seeds. A name ``SWEEP/VARIANT`` is a variant of the sweep directory SWEEP
    beside this one."""
    runs = {v["name"]: [sweep.path / r for r in v["runs"]] for v in sweep.variants}
    pairs = default_pairs(sweep) if pairs is None else pairs
    axes = {}  # each other sweep's axis, for its variants' names
    for other in dict.fromkeys(n.split("/", 1)[0] for pair in pairs for n in pair if "/" in n):
        if not (sweep.path.parent / other).is_dir():
            raise ReportError(f"{sweep.path} is paired (its verdicts.json) with the sweep {other}, which must sit "
                              f"beside it: copy {other} next to it, or rerun `polibench verdicts` without it")
        runs.update(variant_runs(sweep.path.parent / other, f"{other}/"))
        axes[other] = read_json(sweep.path.parent / other / "results.json")["axis"]
    out = []
    for name, base in pairs:
        results = {}
        for metric, episode_field in VERDICT_METRICS:
            try:
                a, seeds_a = score_matrix(runs[name], episode_field)
                b, seeds_b = score_matrix(runs[base], episode_field)
            except RunDirError:
                continue  # a metric these episodes lack (older runs) is left out, not guessed
            if seeds_a == seeds_b:
                results[metric] = compare(a, b, METRICS[metric].better, reps)
        rival = base.split("/", 1)[0] if "/" in base else None
        policy = read_facts(runs[base][0]).policy if rival else sweep.policy(base)  # a sweep's own facts are read
        out.append(PairVerdict(sweep, name, base, results, policy, axes.get(rival, "")))
    return out


def default_pairs(sweep: Sweep) -> list[tuple[str, str]]:
    """Every variant after the first against the first (the sweep's base). A sweep of one variant has no base of
    its own; where its committed verdicts (``polibench verdicts --also``) paired it with variants of other sweeps
    on the same start seeds, those are its bases."""
    names = [v["name"] for v in sweep.variants]
    if len(names) > 1 or not (sweep.path / "verdicts.json").exists():
        return [(n, names[0]) for n in names[1:]]
    doc = read_json(sweep.path / "verdicts.json")
    rivals = next(iter(doc["metrics"].values()), {}).get("vs", {})
    return [(doc["variant"], rival) for rival in rivals]


def question_flags(key: str, verdicts: Mapping[str, Sequence[PairVerdict]]) -> dict[str, Any]:
    """What the template's conditional sentences of question ``key`` depend on, from the verdicts."""
    pairs = [v for vs in verdicts.values() for v in vs]

    def tied(v: PairVerdict, *metrics: str) -> bool:
        return all(m in v.results and v.verdict(m) == "tie" for m in metrics)

    # the conclusion groups variants against the configuration they change; a rival of another policy from another
    # sweep (ACT beside a CTM-ACT screen) is a different comparison, said apart in ``swaps``
    own = [v for v in pairs if v.base_policy == v.sweep.policy(v.variant)]
    flags: dict[str, Any] = {"outcome": outcome_groups(own)}
    if key == "ticks":
        trained = [v for v in pairs if axis_key(v.sweep) == "policy.ctm_act.ticks" and v.variant == "1"]
        flags["one_tick_ties"] = bool(trained) and all(tied(v, "success_rate", "avg_max_coverage") for v in trained)
        flags["one_tick_steps"] = _steps_words(trained)
        flags["one_tick_rougher"] = bool(trained) and all("jerk" in v.results and v.verdict("jerk") == "worse"
                                                          for v in trained)
        cut = sorted((v for v in pairs if axis_key(v.sweep) == "ticks_inference" and v.variant == "1"),
                     key=lambda v: steps_of(v.sweep))
        flags["one_tick_cut"] = [{"steps": steps_of(v.sweep), "tied": tied(v, "success_rate", "avg_max_coverage")}
                                 for v in cut]  # weights trained for T ticks, cut to the first at inference
    if key == "halting":
        off = [v for v in pairs if v.sweep.axis == "halting.variance.enabled" and v.variant == "False"]
        flags["off_configs"] = len(off)
        flags["off_better_success"] = sum(1 for v in off if "success_rate" in v.results
                                          and v.verdict("success_rate") == "better")
        flags["off_not_worse"] = sum(1 for v in off if not any(v.verdict(m) == "worse" for m in v.results
                                                                if m != "jerk"))
    if key == "calibrated":
        flags["cheapest"] = [c for c in map(_cheapest_tie, _budget_sweeps(verdicts)) if c]
    if key in ("combined", "state"):
        flags["swaps"] = [_swap(v) for v in pairs if "/" in v.base]  # one part changed, paired with rivals elsewhere
    if key == "capacity":
        bigger = [v for v in pairs if v.variant == "act_capacity"]
        flags["capacity_helps"] = bool(bigger) and all("avg_max_coverage" in v.results and
                                                       v.verdict("avg_max_coverage") == "better" for v in bigger)
        flags["capacity_steps"] = _steps_words(bigger)
    return flags


def _steps_words(pairs: Sequence[PairVerdict]) -> str:
    """The training budgets of the pairs' sweeps, for "at 6000 steps" ("6000 and 30000"; empty for none)."""
    steps = sorted({steps_of(v.sweep) for v in pairs})
    return join_words([str(n) for n in steps]) if steps else ""


def _outcome_words(verdicts: Mapping[str, str | None]) -> str:
    """How a variant's outcome reads after its smoothness: "at tied success and coverage", "and better on success
    and coverage", "and worse on success, tied on coverage" (a metric not measured is left out)."""
    on = {w: [m for m, v in verdicts.items() if v == w] for w in ("better", "worse", "tie")}
    if not on["better"] and not on["worse"]:
        return f"at tied {join_words(on['tie'])}" if on["tie"] else ""
    parts = [f"{w} on {join_words(on[w])}" for w in ("better", "worse") if on[w]]
    return f"and {join_words(parts)}" + (f", tied on {join_words(on['tie'])}" if on["tie"] else "")


def _swap(pair: PairVerdict) -> dict[str, Any]:
    """What the rival sentences (the combined and the state questions) say of one variant against one rival from
    another sweep: smoothness, outcome words, and whether it is against ACT and not worse on outcome."""
    outcome = [pair.verdict(m) if m in pair.results else None for m in ("success_rate", "avg_max_coverage")]
    leans = [METRICS[m].short or METRICS[m].label for m, v in zip(("success_rate", "avg_max_coverage"), outcome)
             if v == "tie" and max(pair.results[m]["difference_ci"]) < 0]  # tied by the rule, lower by the mean
    return {"variant": pair.name(pair.variant), "base": pair.name(pair.base), "against_act": pair.base_policy == "act",
            "outcome_words": _outcome_words(dict(zip(("success", "coverage"), outcome))),
            "not_worse": None not in outcome and "worse" not in outcome,
            "jerk": pair.verdict("jerk") if "jerk" in pair.results else "tie", "leans_lower": leans}


def outcome_groups(pairs: Sequence[PairVerdict]) -> dict[str, list[str]]:
    """The variants of a question grouped by their paired verdicts against their sweeps' bases, for the template's
    conclusion: ``better`` / ``worse`` (on success or coverage; a variant better on one and worse on the other is
    in both), ``tied`` (tied on both), ``rougher`` (jerk), and the smoother ones split into ``free`` (not worse on
    outcome) and ``paid`` (worse). Names as a reader writes them; a name that several sweeps of the question share
    ("sigmoid gating" in a screen and a three-seed sweep) is listed once per group, with the directories of the
    sweeps that put it there."""
    names = [p.name(p.variant) for p in pairs]
    found: dict[str, dict[str, list[str]]] = {k: {} for k in ("better", "worse", "tied", "rougher", "free", "paid")}
    for p, name in zip(pairs, names):
        outcome = [p.verdict(m) for m in ("success_rate", "avg_max_coverage") if m in p.results]
        if not outcome:
            continue
        keys = [word for word in ("better", "worse") if word in outcome]
        if all(v == "tie" for v in outcome):
            keys.append("tied")
        jerk = p.verdict("jerk") if "jerk" in p.results else "tie"
        if jerk == "worse":
            keys.append("rougher")
        elif jerk == "better":
            keys.append("paid" if "worse" in outcome else "free")
        for key in keys:
            found[key].setdefault(name, []).append(p.sweep.path.name)
    return {key: [f"{name} ({join_words(sweeps)})" if names.count(name) > 1 else name
                  for name, sweeps in named.items()] for key, named in found.items()}


def _budget_sweeps(verdicts: Mapping[str, Sequence[PairVerdict]]) -> list[Sequence[PairVerdict]]:
    return [vs for vs in verdicts.values() if vs and vs[0].sweep.axis in BUDGET_AXES]


def _cheapest_tie(pairs: Sequence[PairVerdict]) -> dict[str, Any] | None:
    """The budget of one rule's sweep that runs the fewest ticks per call while not worse than the sweep's base
    (its never-halting or loosest evaluation) on success and coverage, with its share of the maximum ticks."""
    def ticks(sweep: Sweep, name: str) -> float:
        return next(v for v in sweep.variants if v["name"] == name)["metrics"]["ticks_per_call"]["mean"]

    sweep = pairs[0].sweep
    fine = [v for v in pairs if all(m in v.results and v.verdict(m) != "worse"
                                    for m in ("success_rate", "avg_max_coverage"))]
    if not fine:
        return None
    best = min(fine, key=lambda v: ticks(sweep, v.variant))
    used = ticks(sweep, best.variant)
    t_max = max(f.ticks or 0 for facts in sweep.runs.values() for f in facts) or ticks(sweep, best.base)
    return {"rule": BUDGET_AXES[sweep.axis], "variant": best.variant, "setting": variant_name(sweep.axis, best.variant),
            "swapped": _swapped_rule(sweep), "seeds": count_words(len(sweep.results.get("seeds", [])), "training seed"),
            "n_seeds": len(sweep.results.get("seeds", [])), "steps": steps_of(sweep),
            "ticks": f"{used:.2f}", "t_max": t_max, "share": f"{100 * used / t_max:.1f}",
            "base": variant_name(sweep.axis, best.base)}


def _swapped_rule(sweep: Sweep) -> bool:
    """Whether an inference sweep evaluated a halting rule swapped in for the one the weights were trained with:
    then its never-halting reference falls back on the swapped rule's choice of tick, not the model's own."""
    path = Path(sweep.path) / SWEEP_FILE
    bindings = read_json(path).get("gin_params", []) if path.exists() else []
    return any(b.replace(" ", "").startswith("policy.ctm_act.halting=") for b in bindings)


def sweep_label(sweep: Sweep, short: bool = False) -> str:
    """How a sweep is named in tables (what it varied, its directory, seeds x episodes per seed) and, ``short``,
    in figures (directory and protocol only, so the panels keep their width)."""
    seeds = len(sweep.results.get("seeds", []))
    episodes = seeds_and_episodes(sweep.variants[0])[1]
    if short:
        return f"{Path(sweep.path).name} ({seeds}x{episodes})"
    batch = sweep.eval_batches[-1]
    calls = f", {batch} environments per model call" if batch > 1 else ""  # its ms per call are for all of them
    return (f"{axis_name(axis_key(sweep))}, {Path(sweep.path).name} ({count_words(seeds, 'seed')} x {episodes}"
            f"{calls})")


def difference_words(metric: str, comparison: Mapping[str, Any]) -> str:
    """A paired comparison's mean difference with its interval, signed: "+0.13 [+0.07, +0.20]"."""
    low, high = comparison["difference_ci"]
    return f"{_signed(metric, comparison['difference'])} [{_signed(metric, low)}, {_signed(metric, high)}]"


def _probability(comparison: Mapping[str, Any]) -> str:
    """P(better) with its 95% interval: "0.53 [0.51, 0.55]"."""
    return f"{comparison['probability']:.2f} [{comparison['ci_low']:.2f}, {comparison['ci_high']:.2f}]"


def _signed(metric: str, value: float) -> str:
    text = fmt_value(metric, abs(value))
    return f"+{text}" if value >= 0 else f"-{text}"
