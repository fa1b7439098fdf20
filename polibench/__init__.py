"""polibench: imitation-learning policies assembled from swappable components, benchmarked on Push-T."""

from polibench.registry import create, entries, get, names, register

__all__ = ["create", "entries", "get", "load_policy", "names", "register"]


def load_policy(run_dir, device="auto", gin_params=()):  # noqa: ANN001, ANN201 - lazy wrapper of polibench.api
    """Load a trained run (see :func:`polibench.api.load_policy`); imported lazily to keep ``import polibench`` light."""
    from polibench.api import load_policy as _load

    return _load(run_dir, device, gin_params)
