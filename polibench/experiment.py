"""One experiment: data -> policy -> training -> evaluation, all assembled from gin.

This is the single configurable entry point (the dopamine / ibc pattern): gin files bind
``polibench.Experiment.policy`` (a policy factory, e.g. ``@policy.act``), ``polibench.Experiment.data_source``
and the training / evaluation settings; :func:`run` does the rest and fills a run directory.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from polibench import registry
from polibench.api import load_policy
from polibench.config import operative_config
from polibench.console import console, metrics_table
from polibench.data.episodes import check_values, split_episodes
from polibench.data.windows import WindowSampler
from polibench.device import check_device_name
from polibench.evaluation.config import CHECK_SEED0, EvalConfig
from polibench.evaluation.rollout import evaluate, save_eval
from polibench.normalize import data_stats
from polibench.policy import FeatureSpec, Policy
from polibench.precision import slow_precision_warning
from polibench.provenance import provenance
from polibench.rundir import METRICS_FILE, RunDir, RunDirError, check_directory_target, check_inside, held
from polibench.settings import Experiment, build_policy
from polibench.tracks import get_track
from polibench.training.checkpoint import newest_intact_checkpoint, save_weights, weights_problem
from polibench.training.config import TrainConfig
from polibench.training.trainer import Trainer, last_logged_step
from polibench.training.warm_start import load_matching


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_facts(policy: Policy, cfg: TrainConfig) -> dict[str, Any]:
    """What reports say about a run, recorded in run.json when the run is made (so nobody reads them back from the
    gin text): the registered policy name, its ``max_ticks`` where it thinks in ticks (None otherwise) and the
    training budget."""
    name = next((e.name for e in registry.entries("policy") if e.obj is type(policy)), None)
    return {"policy": name, "ticks": getattr(policy, "max_ticks", None), "steps": cfg.steps,
            "batch_size": cfg.batch_size, "lr": cfg.lr, "precision": cfg.precision}


#: Where an evaluation directory keeps its episode videos (``polibench eval --video``).
VIDEOS_SUBDIR = "videos"


class EvaluationInterrupted(KeyboardInterrupt):
    """Ctrl-C during an evaluation: its metrics were not written; the message says how to evaluate again."""


def run(out_dir: Path, resume: bool = False, progress: bool = True,
        restart_unstarted: bool = False) -> dict[str, Any]:
    """Train and evaluate the parsed gin config into ``out_dir``; returns the evaluation summary.

    ``resume`` continues the run in ``out_dir`` from its newest intact checkpoint (a finished run is only evaluated
    again). A run that stopped before its first checkpoint (a full disk or a file-size limit while writing it)
    starts again from step 0; one whose checkpoints were lost is refused, unless ``restart_unstarted`` (sweeps
    resume their own run slots this way). The run directory is locked meanwhile: a second process writing it is
    refused.
    """
    exp, train_cfg, eval_cfg = Experiment(), TrainConfig(), EvalConfig()  # a bad setting fails before any write
    device = train_cfg.resolve_device()
    rundir = RunDir(out_dir)
    with rundir.writing(resume):
        logged = last_logged_step(rundir.path / "train_log.jsonl")
        unstarted = restart_unstarted or logged <= train_cfg.checkpoint_every
        start = _resume_point(rundir, resume, unstarted)
        return _run(exp, train_cfg, eval_cfg, device, rundir, start, resume, progress)


def _resume_point(rundir: RunDir, resume: bool, may_restart: bool) -> Path | None:
    """The checkpoint training continues from (None: step 0, or no training left), said out loud.

    Final weights that cannot be trusted (a process killed between writing model.safetensors and its checksum)
    are made again from the newest intact checkpoint: training there is deterministic, so they come out the same."""
    if not resume:
        return None
    final_problem = weights_problem(rundir.model_path) if rundir.model_path.exists() else None
    if rundir.model_path.exists() and final_problem is None:
        return None
    path, notes = newest_intact_checkpoint(rundir.checkpoints_dir)
    for note in notes:
        console.print(f"[yellow]{note}", soft_wrap=True)
    if path is None and (final_problem or not may_restart):
        why = f"{rundir.model_path} {final_problem}, and " if final_problem else ""
        raise RunDirError(f"--resume: {why}{rundir.path} has no intact checkpoint to resume from"
                          f"{' (' + '; '.join(notes) + ')' if notes else ''}. Start the run again with another --out, "
                          f"or delete {rundir.path} first.")
    if final_problem:
        console.print(f"[yellow]{rundir.model_path} {final_problem}: it is made again from {path}", soft_wrap=True)
        rundir.model_path.unlink()
    if path is None:
        console.print(f"[yellow]{rundir.path} has no checkpoint yet: training starts again from step 0", soft_wrap=True)
    return path


def _run(exp: Experiment, train_cfg: TrainConfig, eval_cfg: EvalConfig, device: torch.device, rundir: RunDir,
         start: Path | None, resume: bool, progress: bool) -> dict[str, Any]:
    seed_everything(exp.seed)
    if train_cfg.num_threads is not None:
        torch.set_num_threads(train_cfg.num_threads)

    data = exp.data_source.load()
    check_values(data)
    train_data, val_data = split_episodes(data, exp.val_fraction, exp.split_seed)
    track = get_track(exp.track)
    spec = FeatureSpec({k: track.obs_shapes[k] for k in track.obs_shapes}, int(data.action.shape[1]))
    policy = build_policy(exp, spec)
    init_from = exp.init_source()
    init_loaded = load_matching(policy, init_from) if init_from else []
    vector_stats = data_stats(train_data, spec.vector_keys)
    policy.normalizer.set_stats(vector_stats)
    policy.to(device)
    n_params = sum(p.numel() for p in policy.parameters())

    rundir.write_config(operative_config(), resume)
    rundir.write_run_info({"seed": exp.seed, "split_seed": exp.split_seed, "track": exp.track,
                           "eval_seeds": eval_cfg.seeds, "n_params": n_params, "device": str(device),
                           "init_from": init_from, "init_loaded_tensors": init_loaded,
                           "train_episodes": train_data.episode_ids.tolist(),
                           "val_episodes": val_data.episode_ids.tolist() if val_data else [],
                           **run_facts(policy, train_cfg), **provenance()})

    if not rundir.model_path.exists():
        train_summary = _train(exp, policy, train_cfg, eval_cfg, rundir, train_data, val_data, start, progress)
        metadata = {"spec": spec.to_json(), "track": exp.track, "step": str(train_cfg.steps)}
        save_weights(rundir.model_path, policy.state_dict(), metadata)
        if train_summary["steps_trained"] == 0 and "train" in rundir.read_run_info():
            train_summary = rundir.read_run_info()["train"]  # only the final weights were made again: keep the timing
        rundir.write_run_info({"train": train_summary})
    else:
        console.print(f"[yellow]{rundir.model_path} exists: training already finished, evaluating only")
        policy = load_policy(rundir.path, device=device)

    with held(rundir.eval_dir, "evaluation directory"):  # the lock `polibench eval --out RUN/eval` takes too
        summary = evaluate_run(policy, exp.track, eval_cfg, rundir.eval_dir, progress,
                               again=f"training is finished; `polibench run CONFIG --out {rundir.path} --resume` "
                                     "evaluates again", prepared=prepare_for_evaluation(policy, rundir.path))
    summary["n_params"] = n_params
    console.print(metrics_table(summary, title=f"{rundir.path} ({eval_cfg.episodes} episodes from seed "
                                                f"{eval_cfg.seed0})"))
    return summary


def _train(exp: Experiment, policy: Policy, cfg: TrainConfig, eval_cfg: EvalConfig, rundir: RunDir,
           train_data: Any, val_data: Any, start: Path | None, progress: bool) -> dict[str, Any]:
    device = policy.device
    sampler = WindowSampler(train_data, policy.obs_offsets, policy.action_offsets, device)
    val_sampler = WindowSampler(val_data, policy.obs_offsets, policy.action_offsets, device) if val_data else None
    check_seeds = list(range(CHECK_SEED0, CHECK_SEED0 + cfg.eval_episodes))

    def quick_eval(p: Policy, step: int) -> dict[str, Any]:
        result = evaluate(p, exp.track, check_seeds, n_envs=cfg.eval_n_envs, max_steps=eval_cfg.max_steps,
                          progress=False, precision=eval_cfg.precision)
        return {k: result.summary[k]["mean"] for k in ("success_rate", "avg_max_coverage", "avg_max_reward")}

    if warning := slow_precision_warning(device, cfg.precision):
        console.print(f"[yellow]{warning}", soft_wrap=True)
    trainer = Trainer(policy, sampler, cfg, rundir.path, exp.seed, val_sampler,
                      quick_eval if cfg.eval_every and cfg.eval_episodes else None, progress)
    if start is not None:
        trainer.resume_from(start)
        console.print(f"resumed from {start} (step {trainer.step} of {cfg.steps})", soft_wrap=True)
    else:
        trainer.start_fresh()
    summary = trainer.fit()
    trainer.swap_in_ema()
    summary.update({"total_steps": cfg.steps, "batch_size": cfg.batch_size, "num_threads": cfg.num_threads,
                    "precision": cfg.precision})
    return summary


@dataclass(frozen=True)
class Reevaluation:
    """What `polibench eval` did: the summary, where it was written, and the protocol it followed."""

    summary: dict[str, Any]
    out_dir: Path
    config: EvalConfig


def reevaluate(run_dir: Path, eval_overrides: dict[str, Any], out_dir: Path | None = None,
               gin_params: Sequence[str] = (), device: str = "auto", progress: bool = True,
               force: bool = False) -> Reevaluation:
    """A saved run's weights evaluated again (`polibench eval`), with inference-time ``gin_params``; the command
    is recorded beside the metrics in ``eval_command.json``. The evaluation protocol is the run's saved one
    (its config is parsed first) with ``eval_overrides`` (EvalConfig fields) on top. ``out_dir`` defaults to
    ``RUN/eval_seed<S>_n<N>``; an evaluation already there is replaced only with ``force``."""
    EvalConfig(**eval_overrides)  # bad counts fail here, before the run directory is read
    check_device_name(device, "device")
    if out_dir is not None:
        _check_eval_target(Path(run_dir), Path(out_dir), force)
    policy = load_policy(run_dir, device=device, gin_params=gin_params)
    eval_cfg = EvalConfig(**eval_overrides)  # fields not overridden now come from the run's parsed config
    out_dir = Path(out_dir) if out_dir is not None else Path(run_dir) / f"eval_seed{eval_cfg.seed0}_n{eval_cfg.episodes}"
    check_inside(out_dir, Path(run_dir), "run directory")
    with held(out_dir, "evaluation directory"):
        _check_eval_target(Path(run_dir), out_dir, force)
        command = {"run_dir": str(run_dir), "gin_params": list(gin_params), "device": device, **eval_cfg.__dict__}
        summary = evaluate_run(policy, policy.track, eval_cfg, out_dir, progress, again="run the command again",
                               prepared=prepare_for_evaluation(policy, Path(run_dir)), command=command)
    return Reevaluation(summary, out_dir, eval_cfg)


def _check_eval_target(run_dir: Path, out_dir: Path, force: bool) -> None:
    """Refuse an ``out_dir`` that is a file, or that holds an evaluation, unless ``force``."""
    check_directory_target(out_dir)
    if (out_dir / METRICS_FILE).exists() and not force:
        own = out_dir.resolve() == RunDir(run_dir).eval_dir.resolve()
        what = "the run's own protocol evaluation" if own else "an evaluation"
        raise RunDirError(f"{out_dir} already holds {what} (metrics.json). Pass --force to replace it, or choose "
                          "another --out.")


def validation_sampler(run_dir: Path, policy: Policy) -> WindowSampler:
    """Windows of the run's own validation episodes (its saved data source and split), for a policy loaded from
    ``run_dir`` (whose config is the parsed one)."""
    exp = Experiment()
    _, val_data = split_episodes(exp.data_source.load(), exp.val_fraction, exp.split_seed)
    if val_data is None:
        raise ValueError(f"{run_dir} was trained without validation episodes (val_fraction 0): nothing to calibrate on")
    return WindowSampler(val_data, policy.obs_offsets, policy.action_offsets, policy.device)


def prepare_for_evaluation(policy: Policy, run_dir: Path) -> dict[str, Any]:
    """The policy's own preparation before an evaluation (:meth:`~polibench.policy.Policy.prepare_for_evaluation`),
    given the run's validation windows; what it did goes into the evaluation's recorded config."""
    return policy.prepare_for_evaluation(lambda: validation_sampler(run_dir, policy))


def evaluate_run(policy: Policy, track: str, eval_cfg: EvalConfig, out_dir: Path, progress: bool,
                 again: str, prepared: dict[str, Any] | None = None,
                 command: dict[str, Any] | None = None) -> dict[str, Any]:
    """The protocol evaluation, written whole to ``out_dir`` (:func:`~polibench.evaluation.rollout.save_eval`:
    episodes.jsonl, the ``command`` as eval_command.json, then metrics.json with what the policy's preparation
    did, ``prepared``, in its config). On Ctrl-C nothing is written and the message says how to evaluate
    ``again``. Videos are recorded into a scratch folder and replace ``videos/`` only with the new metrics, so an
    evaluation replaced with ``--force`` never sits beside an older one's videos."""
    videos, scratch = out_dir / VIDEOS_SUBDIR, out_dir / f".{VIDEOS_SUBDIR}.partial"
    shutil.rmtree(scratch, ignore_errors=True)  # a killed evaluation's
    video_dir = scratch if eval_cfg.video else None
    try:
        result = evaluate(policy, track, eval_cfg.seeds, n_envs=eval_cfg.n_envs, max_steps=eval_cfg.max_steps,
                          video_dir=video_dir, progress=progress, num_threads=eval_cfg.num_threads,
                          precision=eval_cfg.precision)
    except KeyboardInterrupt:
        shutil.rmtree(scratch, ignore_errors=True)
        raise EvaluationInterrupted(f"evaluation interrupted: no metrics were written to {out_dir}; {again}") from None
    result.config.update(prepared or {})
    (out_dir / METRICS_FILE).unlink(missing_ok=True)  # no complete-looking evaluation while the videos change
    shutil.rmtree(videos, ignore_errors=True)
    if video_dir is not None:
        scratch.rename(videos)
    save_eval(result, out_dir, {"eval_command.json": command} if command is not None else None)
    return result.summary
