"""Checkpoints: safetensors weights with a SHA-256 sidecar, trainer state, both written atomically.

A run's weights live in ``model.safetensors``; its checksum in ``model.safetensors.sha256``. Loading verifies the
checksum first, so a corrupt or truncated file is reported as such instead of failing deep inside torch.
Training checkpoints are directories written under a temporary name and renamed into place, with
``latest.json`` (also atomic) pointing at the newest complete one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from polibench.io import atomic_write, write_json, write_text


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt or does not match the model."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_weights(path: Path, state: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    atomic_write(path, lambda p: save_file(tensors, str(p), metadata=metadata or {}))
    write_text(path.with_name(path.name + ".sha256"), sha256(path) + "\n")


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}: train the run first (polibench run) or check the path")
    sidecar = path.with_name(path.name + ".sha256")
    if not sidecar.exists():
        raise CheckpointError(f"{path} has no checksum file {sidecar.name}; it was not written completely")
    expected, actual = sidecar.read_text().strip(), sha256(path)
    if expected != actual:
        raise CheckpointError(f"{path} is corrupt: SHA-256 {actual[:12]}... does not match the recorded {expected[:12]}...")
    return load_file(str(path))


def read_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return dict(fh.metadata() or {})


def load_into(module: torch.nn.Module, state: dict[str, torch.Tensor], source: Path) -> None:
    """Strict load with an error naming every mismatched tensor (e.g. a checkpoint for other obs/action dims)."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        parts = [f"missing {missing[:5]}" if missing else "", f"unexpected {unexpected[:5]}" if unexpected else "",
                 f"shape mismatch {shapes[:5]}" if shapes else ""]
        raise CheckpointError(f"{source} does not match this model ({'; '.join(p for p in parts if p)}). "
                              "Was it trained with other observation/action dimensions or another config?")
    module.load_state_dict(state)


def save_training_checkpoint(ckpt_root: Path, step: int, model_state: dict[str, torch.Tensor],
                             trainer_state: dict[str, Any], keep: int = 2) -> Path:
    """Write checkpoint ``step`` as a directory, atomically, and prune older ones (keeping ``keep``)."""
    ckpt_root.mkdir(parents=True, exist_ok=True)
    final = ckpt_root / f"step_{step:08d}"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp_", dir=ckpt_root))
    try:
        save_weights(tmp / "model.safetensors", model_state)
        torch.save(trainer_state, tmp / "trainer_state.pt")
        write_text(tmp / "trainer_state.pt.sha256", sha256(tmp / "trainer_state.pt") + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_json(ckpt_root / "latest.json", {"step": step, "dir": final.name})
    for old in sorted(ckpt_root.glob("step_*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_training_checkpoint(ckpt_root: Path) -> Path | None:
    pointer = ckpt_root / "latest.json"
    if not pointer.exists():
        return None
    path = ckpt_root / json.loads(pointer.read_text())["dir"]
    return path if path.exists() else None


def load_training_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    weights = load_weights(path / "model.safetensors")
    state_file = path / "trainer_state.pt"
    expected = (path / "trainer_state.pt.sha256").read_text().strip()
    if sha256(state_file) != expected:
        raise CheckpointError(f"{state_file} is corrupt (checksum mismatch)")
    return weights, torch.load(state_file, weights_only=False)
