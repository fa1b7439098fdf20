"""Python API: load a trained run and act with it in your own loop."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import torch

from polibench.device import resolve_device
from polibench.policy import FeatureSpec, Policy
from polibench.rundir import RunDir, RunDirError
from polibench.safe_config import parse_run_config
from polibench.settings import Experiment, build_policy
from polibench.training.checkpoint import CheckpointError, load_into, load_weights, read_metadata

log = logging.getLogger(__name__)


def load_policy(run_dir: str | Path, device: str | torch.device = "auto", gin_params: Sequence[str] = ()) -> Policy:
    """The trained policy of ``run_dir``, in eval mode, ready for ``reset()`` / ``select_action(obs)``.

    ``obs`` is gym-pusht's raw observation for the run's track (``policy.track``). ``gin_params`` change
    inference-time settings over the saved config (e.g. ``policy.diffusion.num_inference_steps = 10``); bindings
    that change the architecture fail to load the weights. Note: this parses the run's saved gin config,
    replacing any gin config of the calling process.

    The saved config is read safely (:mod:`polibench.safe_config`: it can bind polibench's components and nothing
    else), so a run directory from elsewhere cannot run code; a config.gin edited since training is warned about.
    """
    if not isinstance(run_dir, (str, os.PathLike)):
        raise TypeError(f"load_policy takes a run directory's path (str or pathlib.Path), got "
                        f"{type(run_dir).__name__} {run_dir!r}")
    rundir = RunDir(run_dir)
    if not rundir.config_path.exists():
        raise RunDirError(f"{rundir.path} is not a polibench run directory (no config.gin)")
    if not rundir.model_path.exists():
        finished = rundir.metrics_path.exists()
        why = ("its weights are not in the repository (committed benchmark runs keep config, logs and metrics); "
               f"regenerate them with `polibench run {rundir.config_path} --out NEW_RUN_DIR` (same seed and config)"
               if finished else
               f"the run did not finish training; resume it with `polibench run CONFIG --out {rundir.path} --resume`")
        raise RunDirError(f"{rundir.path} has no trained model ({rundir.model_path.name}): {why}.")
    device = resolve_device(device, "device")
    state = load_weights(rundir.model_path)
    meta = read_metadata(rundir.model_path)
    rundir.warn_if_config_edited(parse_run_config(rundir.config_path, gin_params))
    exp = Experiment()
    policy = build_policy(exp, _spec(meta, rundir.model_path))
    state, notes = policy.adapt_trained_state(state)
    for note in notes:
        log.warning("%s: %s", rundir.path, note)
    load_into(policy, state, rundir.model_path)
    policy.to(device).eval()
    policy.track = exp.track
    return policy


def _spec(metadata: dict[str, str], path: Path) -> FeatureSpec:
    """The feature spec training stored in the weights' metadata (CheckpointError when absent or malformed)."""
    try:
        return FeatureSpec.from_json(metadata["spec"])
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}'s metadata has no valid 'spec' ({type(exc).__name__}: {exc}), so the policy it "
                              "holds cannot be built; these are not weights `polibench run` saved") from None
