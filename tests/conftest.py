"""Shared fixtures: the real Push-T data (the full zarr where present), a clean gin state, tiny real datasets."""

from __future__ import annotations

import os
from pathlib import Path

import gin
import pytest
import torch

from polibench.data.download import ENV_VAR, PUSHT_URL

DEFAULT_ZARR = Path(__file__).resolve().parents[2] / "shared" / "data" / "pusht" / "pusht_cchi_v7_replay.zarr"
REPO = Path(__file__).resolve().parents[1]


def find_pusht_zarr() -> Path | None:
    """The full zarr release (with images): $POLIBENCH_PUSHT_ZARR (set by .ci/run) or ../shared beside the
    checkout; None on a fresh clone, where the keypoints tests read the demonstrations shipped with polibench."""
    configured = os.environ.get(ENV_VAR)
    if configured and not Path(configured).exists():
        raise FileNotFoundError(f"{ENV_VAR}={configured} does not exist: fix it, or unset it to skip the tests "
                                "that need the full zarr")
    path = Path(configured or DEFAULT_ZARR)
    return path if path.exists() else None


def pusht_zarr_path() -> Path:
    """The full zarr release, required (the speed benchmarks)."""
    path = find_pusht_zarr()
    if path is None:
        raise FileNotFoundError(f"Push-T zarr not found at {DEFAULT_ZARR}: set {ENV_VAR}")
    return path


@pytest.fixture(scope="session")
def zarr_path() -> Path:
    """The full zarr. A test that asks for it is skipped without one (a fresh clone), so a test that needs only the
    keypoints track should not ask: the default source (this zarr through the variable, or embedded) serves it."""
    path = find_pusht_zarr()
    if path is None:
        pytest.skip(f"needs the full Push-T zarr with images: unzip Diffusion Policy's {PUSHT_URL} and set "
                    f"{ENV_VAR}=/path/to/pusht/pusht_cchi_v7_replay.zarr")
    return path


@pytest.fixture(scope="module")
def data_env():
    """Workers in other processes (sweeps) find the data through the environment, as a real sweep would: the
    full zarr where there is one, else (no variable) the embedded demonstrations."""
    path = find_pusht_zarr()
    with pytest.MonkeyPatch.context() as mp:
        if path is not None:
            mp.setenv(ENV_VAR, str(path))
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
def small_data():
    """The first 12 real episodes, keypoints track, from the default source ($POLIBENCH_PUSHT_ZARR or embedded)."""
    from polibench.components.data_source.pusht_zarr import PushTZarr

    return PushTZarr(max_episodes=12).load()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A tiny real ACT run (tests/tiny_run.py: 12 steps, checkpoints every 4), whose saved protocol is 2 evaluation
    episodes of at most 20 steps from seed 100000; one per test module, which copies it before changing it."""
    from tests.tiny_run import run_cli

    out = tmp_path_factory.mktemp("runs") / "act"
    assert run_cli(out) == 0
    return out
