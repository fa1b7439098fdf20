"""Warm start: load every tensor of an earlier run whose name and shape match (e.g. ACT's encoder into CTM-ACT)."""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from polibench.rundir import RunDir
from polibench.training.checkpoint import load_weights

logger = logging.getLogger(__name__)


def load_matching(module: nn.Module, source: str | Path) -> list[str]:
    """Copy the matching tensors of a run directory's (or a .safetensors file's) weights into ``module``.

    Logs which tensors were loaded, which are new and which checkpoint tensors went unused; returns the loaded
    names. Matching nothing is an error (wrong run, other sizes or track).
    """
    path = Path(source)
    path = RunDir(path).model_path if path.is_dir() else path
    weights = load_weights(path)
    own = module.state_dict()
    matching = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
    if not matching:
        raise ValueError(f"init_from {path}: no tensor matches this model by name and shape; is it a run of a policy "
                         "with the same encoder sizes and track?")
    module.load_state_dict(matching, strict=False)
    new = sorted(set(own) - set(matching))
    unused = sorted(set(weights) - set(matching))
    logger.info("init_from %s: loaded %d tensors: %s", path, len(matching), ", ".join(sorted(matching)))
    logger.info("init_from %s: %d tensors are new (initialised here): %s", path, len(new), ", ".join(new))
    if unused:
        logger.info("init_from %s: %d checkpoint tensors unused (absent here or another shape): %s",
                    path, len(unused), ", ".join(unused))
    return sorted(matching)
