"""`polibench viz RUN_DIR`: record a trained run on chosen seeds and write its figures plus a manifest.

The figures need what the metrics files do not keep (states, ticks and CTM internals per model call), so the run's
policy is loaded (its weights are needed) and rolled out again through the evaluation harness with
``record=True``. ``figures.json`` lists every PNG written, with a title and a caption, for the LaTeX report:
``{"run": str, "figures": [{"file": "ticks.png", "title": str, "caption": str}, ...]}`` (plus ``animations``,
same entry format, when a GIF was asked for). The recordings are kept beside the figures
(``recordings/<name>/{metrics.json, episodes.jsonl, trajectories.npz}``).

The adaptive-compute figure and the smoothness bars read every episode of a run's saved protocol evaluation
(``eval/episodes.jsonl``) where there is one and no inference-time override changed the policy, not only the few
recorded here. Runs compared side by side must share their training seed (run.json), or viz refuses.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from matplotlib.figure import Figure

from polibench import registry
from polibench.api import load_policy
from polibench.console import console
from polibench.evaluation.metrics import bootstrap_ci
from polibench.evaluation.rollout import EpisodeRecord, EvalResult, evaluate, save_eval
from polibench.io import read_json, write_json
from polibench.rundir import RunDir, RunDirError, held
from polibench.viz.figures.attention import (
    TokenLayout,
    attention_figure,
    attention_grid_figure,
    column_weights,
    token_layout,
)
from polibench.viz.figures.halting import every_call_ran_all_ticks, ticks_by_difficulty_figure
from polibench.viz.figures.save import save_figure
from polibench.viz.figures.style import REPORT_DPI, run_colour
from polibench.viz.figures.ticks import (
    GATE_THRESHOLD,
    N_NEURONS,
    chosen_tick,
    default_calls,
    is_gated,
    sync_events,
    tick_traces_figure,
)
from polibench.viz.figures.trajectories import SMOOTHNESS, common_seeds, save_rollout_gif, trajectory_comparison_figure

#: The first protocol seeds. Only the tick, attention and trajectory figures need recorded episodes (one and
#: TRAJECTORY_SEEDS of them); the adaptive-compute figure reads every episode of the run's saved evaluation.
DEFAULT_SEEDS = tuple(range(100000, 100003))
MANIFEST = "figures.json"
TRAJECTORY_SEEDS = 3  # rows of the trajectory figure
#: The figures `polibench viz` can write, by file stem.
FIGURES = ("ticks", "attention", "compute", "trajectories")
#: Reader-facing policy names (registry name -> name in captions and figure titles).
POLICY_NAMES = {"act": "ACT", "diffusion": "Diffusion Policy", "ctm_act": "CTM-ACT", "mlp_chunk": "MLP chunk"}


@dataclass
class RunRecording:
    """A run's policy rolled out with ``record=True``, plus what the figures need to know about the policy."""

    run_dir: Path
    name: str
    policy: str
    result: EvalResult
    layout: TokenLayout | None
    halt_threshold: float | None
    max_ticks: int | None
    training_seed: int | None = None
    overrides: tuple[str, ...] = ()

    @property
    def episodes(self) -> list[EpisodeRecord]:
        return self.result.episodes or []

    @property
    def has_internals(self) -> bool:
        return bool(self.episodes and self.episodes[0].internals)

    @property
    def label(self) -> str:
        """The policy's reader-facing name."""
        return POLICY_NAMES.get(self.policy, self.policy)

    @property
    def halting(self) -> str:
        """How the recorded policy halted, in words."""
        return (f"halting at certainty {self.halt_threshold:g}" if self.halt_threshold is not None
                else "halting off: every call runs all ticks")

    def eval_episodes(self) -> tuple[list[dict[str, Any]], str]:
        """The run's protocol evaluation rows (eval/episodes.jsonl) if saved, else the recorded ones; and which,
        in words. Inference-time overrides change the policy the saved evaluation measured: then the recorded ones."""
        path = RunDir(self.run_dir).episodes_path
        if path.exists() and not self.overrides:
            rows = [json.loads(line) for line in path.read_text().splitlines() if line]
            return rows, "the run's saved protocol evaluation"
        return self.result.per_episode, "the episodes recorded for these figures"


def check_weights(run_dir: Path) -> None:
    """Fail early, saying how to get the weights back: benchmark run directories are committed without them."""
    rundir = RunDir(run_dir)
    if not rundir.config_path.exists():
        raise RunDirError(f"{rundir.path} is not a polibench run directory (no config.gin)")
    if not rundir.model_path.exists():
        raise RunDirError(
            f"{rundir.path} has no weights ({rundir.model_path.name}; committed run directories keep config, logs and "
            f"metrics only), and the figures need the policy. Retrain it from its operative config: "
            f"`polibench run {rundir.config_path} --out NEW_RUN_DIR` (same config and seed, same weights), then "
            "`polibench viz NEW_RUN_DIR`.")


def training_seed(run_dir: Path) -> int | None:
    """The training seed in the run's run.json (None when it does not say)."""
    return RunDir(run_dir).read_run_info().get("seed")


def check_same_training_seed(run_dirs: Sequence[Path]) -> int | None:
    """Runs compared side by side must share their training seed, else a difference between policies may be one
    between seeds; returns that seed."""
    seeds = {Path(p): training_seed(Path(p)) for p in run_dirs}
    if len(set(seeds.values())) > 1:
        listed = ", ".join(f"{p} (seed {s if s is not None else 'unknown: no run.json seed'})"
                           for p, s in seeds.items())
        raise RunDirError(f"the runs to compare were trained with different seeds: {listed}. Compare runs of one "
                          "training seed (e.g. seed<k> of every policy), so that differences are the policies'")
    return next(iter(seeds.values()))


def _halt_threshold(halting: Any) -> float | None:
    """The certainty at which the core halts; None when it never halts: halting off, or a rule whose threshold is
    infinite (the predicted-error rule without a budget or tolerance, which executes its best tick)."""
    if halting is None or not halting.enabled or not math.isfinite(float(halting.threshold)):
        return None
    return float(halting.threshold)


def record_run(run_dir: str | Path, seeds: Sequence[int] = DEFAULT_SEEDS, max_steps: int = 300,
               device: str = "auto", gin_params: Sequence[str] = (), name: str | None = None) -> RunRecording:
    """Load ``run_dir``'s policy and roll it out once per seed through the evaluation harness, recording."""
    run_dir = Path(run_dir)
    check_weights(run_dir)
    policy = load_policy(run_dir, device=device, gin_params=gin_params)
    result = evaluate(policy, policy.track, seeds, max_steps=max_steps, progress=False, record=True)
    kind = next((e.name for e in registry.entries("policy") if type(policy) is e.obj), type(policy).__name__)
    halting = getattr(getattr(policy, "core", None), "halting", None)
    recording = RunRecording(
        run_dir=run_dir, name=name or run_dir.name, policy=kind, result=result, layout=None,
        halt_threshold=_halt_threshold(halting),
        max_ticks=getattr(policy, "max_ticks", None), training_seed=training_seed(run_dir),
        overrides=tuple(gin_params),
    )
    if recording.has_internals:
        recording.layout = token_layout(policy)
    return recording


def _unique_names(run_dirs: Sequence[Path]) -> list[str]:
    """Run directory names, with the parent prepended where two would collide or the name is a sweep's
    ``seed<k>`` (which says nothing without its variant)."""
    names = [p.name for p in run_dirs]
    return [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 or p.name.startswith("seed") else p.name
            for p in run_dirs]


@dataclass
class _Planned:
    file: str
    title: str
    caption: str
    make: Callable[[], Figure]
    #: numbers read off the drawn data, saved in the manifest so a report can word them without the weights
    facts: dict[str, Any] = field(default_factory=dict)


def ticks_facts(episode: EpisodeRecord, calls: Sequence[int]) -> dict[str, Any]:
    """What the ticks figure shows, as numbers: the executed tick of each drawn call, mean certainty at tick 1 and
    at the executed tick, the ticks at which any neuron group fired a synchronisation event, and how many of the
    episode's calls ran each number of ticks (where halting stops calls, whether they stop early, late or never)."""
    certainty, halt = episode.internals["certainty"], episode.internals["halt_tick"]
    executed = [chosen_tick(certainty[c], int(halt[c]))[0] for c in calls]
    gates = episode.internals["gates"]
    fired = [t for c in calls if is_gated(gates[c]) for t in np.flatnonzero(sync_events(gates[c]).any(axis=1))]
    return {"executed_ticks": executed,
            "certainty_tick1": float(np.mean(certainty[list(calls), 0])),
            "certainty_executed": float(np.mean([certainty[c, t - 1] for c, t in zip(calls, executed)])),
            "event_ticks": sorted({int(t) + 1 for t in fired}),
            "calls_by_ticks": {str(t): int(n)
                               for t, n in zip(*np.unique(episode.ticks.astype(int), return_counts=True))},
            "calls_never_halted": int(np.sum(np.asarray(halt) < 0))}


def attention_facts(episode: EpisodeRecord, layout: TokenLayout, calls: Sequence[int]) -> dict[str, Any]:
    """What the attention figure shows, as numbers: each token's mean weight at tick 1 over every call of the
    episode, and the most weight any token gains or loses over the ticks of a drawn call."""
    weights = column_weights(episode.internals["attention"], layout)  # [calls, T, columns]
    drawn = weights[list(calls)]
    return {"tick1": {label: float(np.mean(weights[:, 0, i])) for i, (label, _) in enumerate(layout.columns())},
            "max_shift": float(np.nanmax(np.abs(drawn - drawn[:, :1]))), "calls": len(episode.call_steps)}


def _run_words(rec: RunRecording) -> str:
    """The run as a caption names it: policy, run, training seed, halting and any inference-time override."""
    seed = f"training seed {rec.training_seed}, " if rec.training_seed is not None else ""
    overrides = f"; evaluated with {', '.join(rec.overrides)}" if rec.overrides else ""
    return f"{rec.label} run {rec.name} ({seed}{rec.halting}{overrides})"


def _seed_words(seeds: Sequence[int]) -> str:
    """``seeds a-b`` for a contiguous range, else the list."""
    seeds = sorted(int(s) for s in seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


def _calls_words(episode: EpisodeRecord, calls: Sequence[int]) -> str:
    """Which calls the tick and attention figures show, and why those."""
    picked = ("spread over the episode among its calls that ran more than one tick, since a call that halts "
              "after tick 1 has nothing to show over ticks" if np.all(episode.ticks[list(calls)] > 1)
              else "spread evenly over the episode")
    picked += ", skipping calls made from nearly the state of an earlier one (a stalled agent repeats its call)"
    return (f"{len(calls)} of the {len(episode.call_steps)} model calls of the episode from start seed {episode.seed}, "
            f"{picked}")


def _ticks_figure(rec: RunRecording, episode: EpisodeRecord, calls: list[int]) -> _Planned:
    gated = is_gated(episode.internals["gates"][calls])
    gates = (f"Middle: the gate of each neuron group per tick (black: open, white: closed). Circles there and bars "
             f"on the top panel mark synchronisation events, where a group's gate crosses {GATE_THRESHOLD} upwards."
             if gated else "The core is ungated: every neuron updates at every tick, so there are no synchronisation "
             "events and no gate panel.")
    threshold = f"the halting threshold {rec.halt_threshold:g} (dotted) and the " if rec.halt_threshold is not None \
        else "and the "
    return _Planned(
        "ticks.png", f"{rec.label} internals over ticks ({rec.name})",
        f"{_run_words(rec)}: {_calls_words(episode, calls)}. Top: post-activations of the {N_NEURONS} neurons "
        f"that vary most over these calls' ticks, one row per neuron. {gates} Bottom: certainty per tick, "
        f"{threshold}tick whose action chunk was executed (dashed: the tick where certainty passed the threshold, "
        "else the most certain tick). What to look at: whether the neurons settle or keep changing over ticks, and "
        "whether certainty rises with them.",
        lambda: tick_traces_figure(episode, calls, halt_threshold=rec.halt_threshold), ticks_facts(episode, calls))


def _attention_figures(rec: RunRecording, episode: EpisodeRecord, calls: list[int]) -> list[_Planned]:
    layout = rec.layout
    heads = episode.internals["attention"].shape[2]
    tokens = ", ".join(label for label, _ in layout.columns())
    per_step = f" (one of each per observation step, {layout.n_obs_steps} steps)" if layout.n_obs_steps > 1 else ""
    memory = (f"{layout.n_tokens} encoder tokens: ACT's latent token (its latent is zero at inference, so the token "
              f"is constant), the agent-position token and the block's keypoints token{per_step}"
              if layout.grid is None else
              f"{layout.n_tokens} encoder tokens, drawn in columns {tokens}; the image column sums the "
              f"{layout.grid[1]} x {layout.grid[2]} cells of the backbone's feature map")
    planned = [_Planned(
        "attention.png", f"{rec.label} attention over the encoder tokens ({rec.name})",
        f"{_run_words(rec)}: attention of the CTM core's query over the encoder memory at each tick, mean over its "
        f"{heads} heads (a tick's weights sum to 1), in the calls of the ticks figure: "
        f"{_calls_words(episode, calls)}. The memory holds {memory}; they are the encoder's outputs at those "
        "positions, so each has mixed in the others through self-attention. Top: one heatmap per call, ticks "
        "downwards, numbers the weights; outlined: the tick whose chunk was executed; a call that halted early has "
        "fewer rows. Bottom: tick 1 of every call of the episode (triangles: the calls above). What to look at: how "
        "the weight moves between the tokens over the ticks of a call, and between calls along the episode.",
        lambda: attention_figure(episode, layout, calls), attention_facts(episode, layout, calls))]
    if layout.grid is not None:
        planned.append(_Planned(
            "attention_grid.png", f"{rec.label} attention over the image cells ({rec.name})",
            f"{_run_words(rec)}: the image tokens' attention weights (mean over heads) drawn as a grid over the "
            "rendered frame, at up to six ticks of the calls of the ticks figure; the agent disc is coloured by the "
            "agent-position token.",
            lambda: attention_grid_figure(episode, layout, calls)))
    return planned


def _compute_figure(rec: RunRecording) -> _Planned:
    rows, source = rec.eval_episodes()
    if every_call_ran_all_ticks(rows, rec.max_ticks):
        left = (f"Every model call ran all {rec.max_ticks} ticks ({rec.halting}), so compute cannot follow "
                "difficulty and the left panel says so instead of plotting a constant.")
    else:
        left = ("Left: each episode's mean ticks per model call against its start distance (filled: success, "
                "hollow: failure), with the mean of each third and its 95% bootstrap interval over episodes.")
    return _Planned(
        "compute.png", f"{rec.label} ticks per model call against start difficulty ({rec.name})",
        f"{_run_words(rec)}, at most {rec.max_ticks} ticks per call: all {len(rows)} episodes of {source}, start "
        f"{_seed_words([r['seed'] for r in rows])}. Difficulty of a start: the mean distance between the T's 8 "
        "keypoints at the start and at the goal pose, one number that grows with both the offset and the rotation "
        f"still to undo; the starts are cut into easy, medium and hard thirds at its terciles. {left} Right: "
        "success rate and mean max coverage per third, 95% intervals. What to look at: whether ticks per call "
        "change from the easy to the hard third by more than the intervals.",
        lambda: ticks_by_difficulty_figure(rows, rec.max_ticks))


def _ctm_figures(rec: RunRecording) -> list[_Planned]:
    """Ticks, attention (and its image grid on a pixels track) of the first recorded episode; compute over all."""
    episode = rec.episodes[0]
    calls = default_calls(episode)
    return [_ticks_figure(rec, episode, calls), *_attention_figures(rec, episode, calls), _compute_figure(rec)]


def run_labels(runs: Sequence[RunRecording]) -> list[str]:
    """Policy names where each policy appears once, else policy and run name."""
    policies = [r.label for r in runs]
    return [r.label if policies.count(r.label) == 1 else f"{r.label} ({r.name})" for r in runs]


def _sources_words(smoothness: dict[str, tuple[list[dict[str, Any]], str]]) -> str:
    """Where each run's episode rows come from, said once when every run's come from the same kind of source."""
    kinds = {(len(rows), source) for rows, source in smoothness.values()}
    if len(kinds) == 1:
        n, source = kinds.pop()
        return f"the {n} episodes of {source.replace('the run', 'each run')}"
    return "; ".join(f"{label}: {len(rows)} episodes of {source}" for label, (rows, source) in smoothness.items())


def _trajectory_figure(runs: list[RunRecording]) -> _Planned:
    labels = run_labels(runs)
    seeds = common_seeds({r.name: r.episodes for r in runs})[:TRAJECTORY_SEEDS]
    smoothness = {label: r.eval_episodes() for label, r in zip(labels, runs)}
    sources = _sources_words(smoothness)
    colours = {label: run_colour(r.policy, i) for i, (label, r) in enumerate(zip(labels, runs))}
    trained = ", ".join(f"{label} (run {r.name})" for label, r in zip(labels, runs))
    seed = runs[0].training_seed
    return _Planned(
        "trajectories.png", f"Trajectories from the same start seeds (training seed {seed})",
        f"{trained}, all of training seed {seed}, on start {_seed_words(seeds)} ({runs[0].label}: "
        f"{runs[0].halting}). Agent path (hollow disc: start, filled disc: end; the path darkens with time) and the "
        "T's pose at six evenly spaced times (darker: later); the goal T is green; each panel gives the episode's "
        "maximum goal coverage. Right: each run's mean jerk (squared third difference of the agent position), "
        "action change (size of the step-to-step change of the executed action) and chunk jump (the same change "
        f"where a new action chunk starts), with 95% bootstrap intervals over episodes, from {sources}. What to "
        "look at: how directly each policy pushes the T to the goal and how smooth its actions are.",
        lambda: trajectory_comparison_figure({label: r.episodes for label, r in zip(labels, runs)},
                                             {label: rows for label, (rows, _) in smoothness.items()}, colours, seeds),
        trajectory_facts(runs, labels, seeds, {label: rows for label, (rows, _) in smoothness.items()}),
    )


def trajectory_facts(runs: Sequence[RunRecording], labels: Sequence[str], seeds: Sequence[int],
                     smoothness: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """What the trajectory figure shows, as numbers: each run's maximum coverage on the drawn start seeds, and its
    smoothness metrics' means with 95% bootstrap intervals over its episode rows (label -> [mean, low, high])."""
    coverage = {label: [float(np.max(next(e for e in r.episodes if e.seed == seed).coverage)) for seed in seeds]
                for label, r in zip(labels, runs)}
    stats = {metric: {label: [(ci := bootstrap_ci([row.get(metric) for row in rows]))["mean"], ci["ci_low"],
                              ci["ci_high"]] for label, rows in smoothness.items()} for metric, _ in SMOOTHNESS}
    return {"seeds": [int(s) for s in seeds], "max_coverage": coverage, "smoothness": stats}


def viz_run(run_dir: str | Path, out_dir: str | Path | None = None, seeds: Sequence[int] = DEFAULT_SEEDS,
            compare: Sequence[str | Path] = (), gif: bool = False, max_steps: int = 300, device: str = "auto",
            gin_params: Sequence[str] = (), only: Sequence[str] = ()) -> Path:
    """Record ``run_dir`` (and every ``compare`` run, on the same seeds), write the figures that apply and the
    manifest into ``out_dir`` (default RUN_DIR/figures); returns the manifest's path.

    CTM figures (ticks, attention, adaptive compute) are written only for a policy that records internals
    (CTM-ACT); the trajectory figure always. ``compare`` runs must share ``run_dir``'s training seed.
    ``gin_params`` are inference-time overrides for ``run_dir`` only (e.g. ``halting.variance.enabled = False``).
    ``gif`` also writes a side-by-side rollout of the first seed. ``only``: the figures to write, by file stem
    (``ticks``, ``attention``, ``compute``, ``trajectories``), e.g. a gated core's ticks figure alone.
    """
    unknown = sorted(set(only) - set(FIGURES))
    if unknown:
        raise RunDirError(f"--only {', '.join(unknown)}: unknown figure; the figures are {', '.join(FIGURES)}")
    run_dirs = [Path(run_dir), *map(Path, compare)]
    for path in run_dirs:  # every error before minutes of rollouts
        check_weights(path)
    check_same_training_seed(run_dirs)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "figures"
    with held(out, "figure directory"):  # one writer: two viz into one folder would mix their figures
        return _record_and_draw(run_dirs, out, seeds, gif, max_steps, device, gin_params, only)


def _record_and_draw(run_dirs: list[Path], out: Path, seeds: Sequence[int], gif: bool, max_steps: int, device: str,
                     gin_params: Sequence[str], only: Sequence[str]) -> Path:
    """viz_run's work once ``out`` is held: the recordings, the figures, the manifest."""
    names = _unique_names(run_dirs)
    runs = [record_run(path, seeds, max_steps, device, gin_params if i == 0 else (), name)
            for i, (path, name) in enumerate(zip(run_dirs, names))]
    for rec in runs:
        save_eval(rec.result, out / "recordings" / rec.name.replace("/", "_"))
    planned = (_ctm_figures(runs[0]) if runs[0].has_internals else []) + [_trajectory_figure(runs)]
    planned = [p for p in planned if not only or Path(p.file).stem in only]
    entries = []
    for item in planned:
        save_figure(item.make(), out / item.file, dpi=REPORT_DPI)
        entries.append({"file": item.file, "title": item.title, "caption": item.caption,
                        **({"facts": item.facts} if item.facts else {})})
    manifest: dict[str, Any] = {"run": str(run_dirs[0]), "figures": entries}
    if gif:
        seed = common_seeds({r.name: r.episodes for r in runs})[0]
        labels = run_labels(runs)
        save_rollout_gif({label: next(ep for ep in r.episodes if ep.seed == seed) for label, r in zip(labels, runs)},
                         out / "rollouts.gif")
        manifest["animations"] = [{"file": "rollouts.gif", "title": f"Rollouts from start seed {seed}",
                                   "caption": f"{', '.join(labels)} side by side, rendered by gym-pusht from the "
                                              "recorded states (every second step, real time)."}]
    return write_json(out / MANIFEST, manifest)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `polibench viz` arguments."""
    parser.add_argument("run_dir", help="trained run directory (needs model.safetensors)")
    parser.add_argument("--out", help="figure directory (default RUN_DIR/figures)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS),
                        help=f"episode seeds to record (default {DEFAULT_SEEDS[0]}-{DEFAULT_SEEDS[-1]})")
    parser.add_argument("--compare", nargs="+", default=[], metavar="RUN_DIR",
                        help="other runs of the same training seed (e.g. ACT, Diffusion Policy), recorded on the same "
                             "seeds for the trajectories")
    parser.add_argument("--gif", action="store_true", help="also write a side-by-side rollout GIF")
    parser.add_argument("--max-steps", type=int, default=300)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--gin_param", "--gin-param", action="append", default=[],
                        help="inference-time override for RUN_DIR, e.g. 'halting.variance.enabled = False'")
    parser.add_argument("--only", nargs="+", default=[], choices=FIGURES, metavar="FIGURE",
                        help=f"write only these figures ({', '.join(FIGURES)}; default: all that apply)")


def main(args: argparse.Namespace) -> int:
    """Run `polibench viz`; errors (a run without weights, ...) propagate to the CLI's error handling."""
    manifest = viz_run(args.run_dir, args.out, args.seeds, args.compare, args.gif, args.max_steps, args.device,
                       args.gin_param, args.only)
    for entry in read_json(manifest)["figures"]:
        console.print(f"{manifest.parent / entry['file']}: {entry['title']}")
    console.print(f"[green]manifest: {manifest}")
    return 0
