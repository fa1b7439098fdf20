"""Shared fixtures: the real Push-T data, a clean gin state, tiny real datasets."""

from __future__ import annotations

import os
from pathlib import Path

import gin
import pytest
import torch

from polibench.data.download import ENV_VAR

DEFAULT_ZARR = Path(__file__).resolve().parents[2] / "shared" / "data" / "pusht" / "pusht_cchi_v7_replay.zarr"
REPO = Path(__file__).resolve().parents[1]


def pusht_zarr_path() -> Path:
    """The real demonstrations: $POLIBENCH_PUSHT_ZARR (set by .ci/run) or ../shared beside the checkout."""
    path = Path(os.environ.get(ENV_VAR) or DEFAULT_ZARR)
    if not path.exists():
        raise FileNotFoundError(f"Push-T zarr not found at {path}: set {ENV_VAR} (the tests need the real data)")
    return path


@pytest.fixture(scope="session")
def zarr_path() -> Path:
    return pusht_zarr_path()


@pytest.fixture(scope="module")
def data_env(zarr_path):
    """Workers in other processes (sweeps) find the data through the environment, as a real sweep would."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_VAR, str(zarr_path))
        yield


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread per test: the models are tiny, and two threads thrash when other jobs share the 2 cores
    (DEVELOPERS.md)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def clean_gin():
    """gin is process-global: every test starts and ends with an empty config."""
    gin.clear_config()
    yield
    gin.clear_config()


@pytest.fixture(scope="session")
def small_data(zarr_path):
    """The first 12 real episodes, keypoints track."""
    from components.data_source.pusht_zarr import PushTZarr

    return PushTZarr(path=zarr_path, max_episodes=12).load()
