"""Checkpoints: safetensors weights with a SHA-256 sidecar, trainer state, both written atomically.

A run's weights live in ``model.safetensors``; its checksum in ``model.safetensors.sha256``. Loading verifies the
checksum first, so a corrupt or truncated file is reported as such instead of failing deep inside torch.
Training checkpoints are directories written under a temporary name and renamed into place, with
``latest.json`` (also atomic) pointing at the newest complete one. Resuming trusts the directories over that
pointer: it takes the newest checkpoint whose files all match their checksums.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from polibench.io import JSONFileError, atomic_write, check_regular_file, read_json, read_text, write_json, write_text

STEP_PREFIX = "step_"
TRAINER_STATE = "trainer_state.pt"
LATEST = "latest.json"
SIDECAR_BYTES = 1024  # a checksum file holds one hex digest
#: What polibench.training.trainer.Trainer saves in a trainer state and reads back on resume.
TRAINER_STATE_KEYS = frozenset({"step", "optimizer", "scheduler", "ema", "generator", "torch_rng", "cuda_rng"})


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt or does not match the model."""


def sha256(path: Path) -> str:
    """The SHA-256 of regular file ``path`` (a FIFO or a device is refused, not read forever)."""
    check_regular_file(path)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_weights(path: Path, state: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    try:
        atomic_write(path, lambda p: save_file(tensors, str(p), metadata=metadata or {}))
    except SafetensorError as exc:  # safetensors reports a failed write (disk full, file-size limit) this way
        raise _not_written(path, exc) from None
    write_text(path.with_name(path.name + ".sha256"), sha256(path) + "\n")


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}: train the run first (polibench run) or check the path")
    if (problem := weights_problem(path)) is not None:
        raise CheckpointError(f"{path} {problem}")
    try:
        return load_file(str(path))
    except SafetensorError as exc:
        raise _unreadable(path, exc) from None


def weights_problem(path: Path) -> str | None:
    """Why the weights file ``path`` cannot be trusted (no checksum beside it, or one it does not match); None
    when it is intact."""
    sidecar = path.with_name(path.name + ".sha256")
    if not sidecar.exists():
        return f"has no checksum file {sidecar.name}; it was not written completely"
    expected, actual = read_text(sidecar, SIDECAR_BYTES).strip(), sha256(path)
    if expected != actual:
        return f"is corrupt: SHA-256 {actual[:12]}... does not match the recorded {expected[:12]}..."
    return None


def read_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            return dict(fh.metadata() or {})
    except SafetensorError as exc:
        raise _unreadable(path, exc) from None


def _not_written(path: Path, exc: Exception) -> CheckpointError:
    return CheckpointError(f"{path} could not be written ({str(exc).splitlines()[0]}): the disk may be full or a "
                           "file-size limit reached. Make room and resume (--resume) from the last checkpoint")


def _unreadable(path: Path, exc: Exception) -> CheckpointError:
    return CheckpointError(f"{path} is not a readable safetensors file ({exc}), although its checksum matches: it was "
                           "saved like this, not by polibench. Use the weights `polibench run` saved")


def load_into(module: torch.nn.Module, state: dict[str, torch.Tensor], source: Path) -> None:
    """Strict load with an error naming every mismatched tensor (e.g. a checkpoint for other obs/action dims)."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]
    # load_state_dict would cast another dtype silently: int8 weights would load, rounded, and run
    dtypes = [f"{k}: checkpoint {state[k].dtype} vs model {own[k].dtype}"
              for k in own if k in state and state[k].dtype != own[k].dtype]
    if missing or unexpected or shapes or dtypes:
        parts = [f"missing {missing[:5]}" if missing else "", f"unexpected {unexpected[:5]}" if unexpected else "",
                 f"shape mismatch {shapes[:5]}" if shapes else "", f"dtype mismatch {dtypes[:5]}" if dtypes else ""]
        raise CheckpointError(f"{source} does not match this model ({'; '.join(p for p in parts if p)}). "
                              "Was it trained with other observation/action dimensions or another config?")
    module.load_state_dict(state)


def save_training_checkpoint(ckpt_root: Path, step: int, model_state: dict[str, torch.Tensor],
                             trainer_state: dict[str, Any], keep: int = 2) -> Path:
    """Write checkpoint ``step`` as a directory, atomically, and prune the others: older ones beyond ``keep`` and
    any newer one (after resuming from an older checkpoint, those are the broken ones resuming skipped)."""
    ckpt_root.mkdir(parents=True, exist_ok=True)
    final = ckpt_root / f"{STEP_PREFIX}{step:08d}"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp_", dir=ckpt_root))
    try:
        save_weights(tmp / "model.safetensors", model_state)
        try:
            torch.save(trainer_state, tmp / TRAINER_STATE)
        except RuntimeError as exc:  # torch's writer reports a failed write (disk full, file-size limit) this way
            raise _not_written(final / TRAINER_STATE, exc) from None
        write_text(tmp / (TRAINER_STATE + ".sha256"), sha256(tmp / TRAINER_STATE) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_json(ckpt_root / LATEST, {"step": step, "dir": final.name})
    others = [d for d in _step_dirs(ckpt_root) if d != final]
    older = [d for d in others if d.name < final.name]
    for stale in [d for d in others if d.name > final.name] + older[: max(len(older) - (keep - 1), 0)]:
        shutil.rmtree(stale, ignore_errors=True)
    return final


def checkpoint_problem(path: Path) -> str | None:
    """Why checkpoint directory ``path`` cannot be resumed from (a file missing or not matching its checksum), or
    None when it is intact."""
    for name in ("model.safetensors", TRAINER_STATE):
        file, sidecar = path / name, path / (name + ".sha256")
        if not file.exists() or not sidecar.exists():
            return f"{(file if not file.exists() else sidecar).name} is missing"
        if read_text(sidecar, SIDECAR_BYTES).strip() != sha256(file):
            return f"{name} is corrupt (its SHA-256 does not match {sidecar.name})"
    return None


def newest_intact_checkpoint(ckpt_root: Path) -> tuple[Path | None, list[str]]:
    """The newest checkpoint directory that is intact, and a note for each thing passed over on the way: newer
    checkpoints that are not intact, and a ``latest.json`` that is unreadable or points at a missing checkpoint.

    The directories themselves decide, not ``latest.json``: it can be stale, edited or point at a deleted one.
    """
    notes = []
    pointer = ckpt_root / LATEST
    if pointer.exists():
        try:
            named = read_json(pointer).get("dir")
            if not (ckpt_root / str(named)).is_dir():
                notes.append(f"{pointer} points at {named}, which does not exist")
        except (JSONFileError, AttributeError):
            notes.append(f"{pointer} is not valid (ignored)")
    for path in reversed(_step_dirs(ckpt_root)):
        problem = checkpoint_problem(path)
        if problem is None:
            return path, notes
        notes.append(f"skipped {path.name}: {problem}")
    return None, notes


def load_training_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights and trainer state of an intact checkpoint directory (CheckpointError naming the file otherwise).

    The trainer state is unpickled with ``weights_only=True``: tensors and plain containers only, so a crafted
    file cannot run code, whatever its checksum."""
    problem = checkpoint_problem(path)
    if problem is not None:
        raise CheckpointError(f"checkpoint {path} cannot be resumed from: {problem}")
    try:
        weights, state = load_weights(path / "model.safetensors"), torch.load(path / TRAINER_STATE, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"{path / TRAINER_STATE} holds objects a trainer state never does, so it is not loaded "
                              f"(weights_only): {str(exc).splitlines()[0]}") from None
    except (RuntimeError, EOFError) as exc:  # torch's reader on a truncated or foreign file
        raise CheckpointError(f"{path / TRAINER_STATE} is not a readable trainer state ({str(exc).splitlines()[0]}), "
                              f"although its checksum matches. Delete {path} to resume from the checkpoint before "
                              "it") from None
    missing = sorted(TRAINER_STATE_KEYS - set(state)) if isinstance(state, dict) else sorted(TRAINER_STATE_KEYS)
    if missing:
        raise CheckpointError(f"{path / TRAINER_STATE} lacks {missing}, which every trainer state holds. Delete {path} "
                              "to resume from the checkpoint before it")
    return weights, state


def _step_dirs(ckpt_root: Path) -> list[Path]:
    """Checkpoint directories, oldest first (their zero-padded step numbers sort by name)."""
    return sorted(p for p in ckpt_root.glob(f"{STEP_PREFIX}*") if p.is_dir()) if ckpt_root.is_dir() else []
