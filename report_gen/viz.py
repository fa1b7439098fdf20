"""`polibench viz RUN_DIR`: record a trained run on chosen seeds and write its figures plus a manifest.

The figures need what the metrics files do not keep (states, ticks and CTM internals per model call), so the run's
policy is loaded (its weights are needed) and rolled out again through the evaluation harness with
``record=True``. ``figures.json`` lists every PNG written, with a title and a caption, for the LaTeX report:
``{"run": str, "figures": [{"file": "ticks.png", "title": str, "caption": str}, ...]}`` (plus ``animations``,
same entry format, when a GIF was asked for). The recordings are kept beside the figures
(``recordings/<name>/{metrics.json, episodes.jsonl, trajectories.npz}``).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from matplotlib.figure import Figure

from polibench import registry
from polibench.evaluation.rollout import EpisodeRecord, EvalResult, evaluate, save_eval
from polibench.io import read_json, write_json
from polibench.rundir import EPISODES_FILE, EVAL_SUBDIR, RunDir, RunDirError
from report_gen.figures.attention import TokenLayout, attention_figure, token_layout
from report_gen.figures.compute import adaptive_compute_figure
from report_gen.figures.save import save_figure
from report_gen.figures.style import run_colour
from report_gen.figures.ticks import GATE_THRESHOLD, tick_traces_figure
from report_gen.figures.trajectories import common_seeds, save_rollout_gif, trajectory_comparison_figure

#: The first protocol seeds: enough episodes to split easy / hard starts, quick to roll out on a CPU.
DEFAULT_SEEDS = tuple(range(100000, 100008))
MANIFEST = "figures.json"
RUN_DIR_ENV = "POLIBENCH_RUN_DIR"
COMPARE_DIRS_ENV = "POLIBENCH_COMPARE_DIRS"
TRAJECTORY_SEEDS = 3  # rows of the trajectory figure


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

    @property
    def episodes(self) -> list[EpisodeRecord]:
        return self.result.episodes or []

    @property
    def has_internals(self) -> bool:
        return bool(self.episodes and self.episodes[0].internals)

    def eval_episodes(self) -> tuple[list[dict[str, Any]], str]:
        """The run's protocol evaluation rows (eval/episodes.jsonl) if saved, else the recorded ones; and which."""
        path = RunDir(self.run_dir).episodes_path
        if path.exists():
            return [json.loads(line) for line in path.read_text().splitlines() if line], f"{EVAL_SUBDIR}/{EPISODES_FILE}"
        return self.result.per_episode, "the recorded episodes"


def check_weights(run_dir: Path) -> None:
    """Fail early, saying how to get the weights back: benchmark run directories are committed without them."""
    rundir = RunDir(run_dir)
    if not rundir.config_path.exists():
        raise RunDirError(f"{rundir.path} is not a polibench run directory (no config.gin)")
    if not rundir.model_path.exists():
        raise RunDirError(
            f"{rundir.path} has no weights ({rundir.model_path.name}; run directories under benchmarks/results are "
            f"committed without them), and the figures need the policy. Retrain it from its operative config: "
            f"`polibench run {rundir.config_path} --out NEW_RUN_DIR` (the command that first made it is in "
            "benchmarks/README.md), then `polibench viz NEW_RUN_DIR`.")


def record_run(run_dir: str | Path, seeds: Sequence[int] = DEFAULT_SEEDS, max_steps: int = 300,
               device: str = "auto", gin_params: Sequence[str] = (), name: str | None = None) -> RunRecording:
    """Load ``run_dir``'s policy and roll it out once per seed through the evaluation harness, recording."""
    from polibench.api import load_policy

    run_dir = Path(run_dir)
    check_weights(run_dir)
    policy = load_policy(run_dir, device=device, gin_params=gin_params)
    result = evaluate(policy, policy.track, seeds, max_steps=max_steps, progress=False, record=True)
    kind = next((e.name for e in registry.entries("policy") if type(policy) is e.obj), type(policy).__name__)
    halting = getattr(getattr(policy, "core", None), "halting", None)
    recording = RunRecording(
        run_dir=run_dir, name=name or run_dir.name, policy=kind, result=result, layout=None,
        halt_threshold=float(halting.threshold) if halting is not None and halting.enabled else None,
        max_ticks=getattr(policy, "max_ticks", None),
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


def _ctm_figures(rec: RunRecording) -> list[_Planned]:
    first = rec.episodes[0]
    halting = (f"halting at certainty {rec.halt_threshold:g}" if rec.halt_threshold is not None
               else "halting off (every call runs all ticks)")
    return [
        _Planned("ticks.png", f"CTM internals over ticks ({rec.name})",
                 f"Three model calls of the episode from seed {first.seed} ({rec.name}, {halting}). Top: "
                 f"post-activations of the highest-variance neurons over the internal ticks; bars mark "
                 f"synchronisation events, where a neuron group's gate crosses {GATE_THRESHOLD} upwards (for gated "
                 "cores; an ungated core keeps every group open). Middle: gate per neuron group (circles: the same "
                 "events). Bottom: certainty per tick and the tick whose "
                 "action chunk was executed.",
                 lambda: tick_traces_figure(first, halt_threshold=rec.halt_threshold)),
        _Planned("attention.png", f"CTM attention over encoder tokens ({rec.name})",
                 f"Attention weights (mean over heads) of the CTM core's query over the encoder tokens at each tick, "
                 f"for three model calls of the episode from seed {first.seed}. "
                 + ("The image tokens are drawn as a grid over the rendered frame; the agent disc shows the "
                    "agent-position token." if rec.layout and rec.layout.grid else
                    "The T is coloured by the weight of the keypoints token, the agent disc by the agent-position "
                    "token; the goal T is green.") + " The weight of ACT's latent token is written in each panel.",
                 lambda: attention_figure(first, rec.layout)),
        _Planned("compute.png", f"Adaptive compute ({rec.name})",
                 f"Ticks used per model call over {len(rec.episodes)} episodes ({halting}). Left and middle: "
                 "histograms for easy and hard starts, split at the median start distance and angle of the block to "
                 "the goal. Right: ticks used along each episode, coloured by start distance.",
                 lambda: adaptive_compute_figure(rec.episodes, rec.max_ticks)),
    ]


def _trajectory_figure(runs: list[RunRecording]) -> _Planned:
    seeds = common_seeds({r.name: r.episodes for r in runs})[:TRAJECTORY_SEEDS]
    smoothness = {r.name: r.eval_episodes() for r in runs}
    sources = "; ".join(f"{name}: {source} ({len(rows)} episodes)" for name, (rows, source) in smoothness.items())
    colours = {r.name: run_colour(r.policy, i) for i, r in enumerate(runs)}
    return _Planned(
        "trajectories.png", "Trajectories from the same seeds",
        f"Agent path (hollow disc: start, filled: end) and the T's pose at six evenly spaced times (darker: later) "
        f"for {', '.join(f'{r.name} ({r.policy})' for r in runs)} on seeds {', '.join(map(str, seeds))}; the goal "
        f"T is green. Right: mean jerk, action change and chunk jump per run, from {sources}.",
        lambda: trajectory_comparison_figure({r.name: r.episodes for r in runs},
                                             {name: rows for name, (rows, _) in smoothness.items()}, colours, seeds),
    )


def viz_run(run_dir: str | Path, out_dir: str | Path | None = None, seeds: Sequence[int] = DEFAULT_SEEDS,
            compare: Sequence[str | Path] = (), gif: bool = False, max_steps: int = 300, device: str = "auto",
            gin_params: Sequence[str] = ()) -> Path:
    """Record ``run_dir`` (and every ``compare`` run, on the same seeds), write the figures that apply and the
    manifest into ``out_dir`` (default RUN_DIR/figures); returns the manifest's path.

    CTM figures (ticks, attention, adaptive compute) are written only for a policy that records internals
    (CTM-ACT); the trajectory figure always. ``gin_params`` are inference-time overrides for ``run_dir`` only
    (e.g. ``halting.variance.enabled = False``). ``gif`` also writes a side-by-side rollout of the first seed.
    """
    run_dirs = [Path(run_dir), *map(Path, compare)]
    for path in run_dirs:  # every error before minutes of rollouts
        check_weights(path)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "figures"
    names = _unique_names(run_dirs)
    runs = [record_run(path, seeds, max_steps, device, gin_params if i == 0 else (), name)
            for i, (path, name) in enumerate(zip(run_dirs, names))]
    for rec in runs:
        save_eval(rec.result, out / "recordings" / rec.name.replace("/", "_"))
    planned = (_ctm_figures(runs[0]) if runs[0].has_internals else []) + [_trajectory_figure(runs)]
    entries = []
    for item in planned:
        save_figure(item.make(), out / item.file)
        entries.append({"file": item.file, "title": item.title, "caption": item.caption})
    manifest: dict[str, Any] = {"run": str(run_dir), "figures": entries}
    if gif:
        seed = common_seeds({r.name: r.episodes for r in runs})[0]
        save_rollout_gif({r.name: next(ep for ep in r.episodes if ep.seed == seed) for r in runs}, out / "rollouts.gif")
        manifest["animations"] = [{"file": "rollouts.gif", "title": f"Rollouts from seed {seed}",
                                   "caption": f"{', '.join(r.name for r in runs)} side by side, rendered by gym-pusht "
                                              "from the recorded states (every second step, real time)."}]
    return write_json(out / MANIFEST, manifest)


#: The trained runs shipped with the repository (weights/README.md): what the notebooks show by default.
SHIPPED = Path(__file__).resolve().parents[1] / "weights"
SHIPPED_RUN, SHIPPED_COMPARE = SHIPPED / "ctm_act_unet", (SHIPPED / "act", SHIPPED / "diffusion")


def env_run_dir() -> Path:
    """The run a notebook shows: ``$POLIBENCH_RUN_DIR``, else the shipped CTM-ACT run."""
    value = os.environ.get(RUN_DIR_ENV)
    if value:
        return Path(value)
    if (SHIPPED_RUN / "model.safetensors").is_file():
        return SHIPPED_RUN
    raise RuntimeError(f"set {RUN_DIR_ENV} to a trained run directory (one with model.safetensors), e.g. "
                       f"`{RUN_DIR_ENV}=runs/ctm jupyter lab` (the shipped {SHIPPED_RUN} is missing)")


def env_compare_dirs() -> list[Path]:
    """Runs to compare with, ``$POLIBENCH_COMPARE_DIRS`` (colon-separated); unset: the shipped ACT and Diffusion
    Policy runs when the notebook shows the shipped CTM-ACT run, else none."""
    value = os.environ.get(COMPARE_DIRS_ENV)
    if value is not None:
        return [Path(p) for p in value.split(os.pathsep) if p]
    shipped = not os.environ.get(RUN_DIR_ENV) and all((d / "model.safetensors").is_file() for d in SHIPPED_COMPARE)
    return list(SHIPPED_COMPARE) if shipped else []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `polibench viz` arguments."""
    parser.add_argument("run_dir", help="trained run directory (needs model.safetensors)")
    parser.add_argument("--out", help="figure directory (default RUN_DIR/figures)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS),
                        help=f"episode seeds to record (default {DEFAULT_SEEDS[0]}-{DEFAULT_SEEDS[-1]})")
    parser.add_argument("--compare", nargs="+", default=[], metavar="RUN_DIR",
                        help="other runs (e.g. ACT, Diffusion Policy) recorded on the same seeds for the trajectories")
    parser.add_argument("--gif", action="store_true", help="also write a side-by-side rollout GIF")
    parser.add_argument("--max-steps", type=int, default=300)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--gin_param", "--gin-param", action="append", default=[],
                        help="inference-time override for RUN_DIR, e.g. 'halting.variance.enabled = False'")


def main(args: argparse.Namespace) -> int:
    """Run `polibench viz`; errors (a run without weights, ...) propagate to the CLI's error handling."""
    from polibench.console import console

    manifest = viz_run(args.run_dir, args.out, args.seeds, args.compare, args.gif, args.max_steps, args.device,
                       args.gin_param)
    for entry in read_json(manifest)["figures"]:
        console.print(f"{manifest.parent / entry['file']}: {entry['title']}")
    console.print(f"[green]manifest: {manifest}")
    return 0
