"""Fixtures for the speed benchmarks: policies built from the shipped gin files, normalised on real data.

``POLIBENCH_BENCH_DEVICE`` (default ``cpu``) puts the policies on another device, e.g. ``cuda`` on a GPU machine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import pytest
import torch

from polibench.components.data_source.pusht_zarr import PushTZarr
from polibench.config import CONFIG_DIR, parse
from polibench.normalize import data_stats
from polibench.policy import FeatureSpec, Policy
from polibench.settings import Experiment, build_policy
from polibench.tracks import TRACKS
from tests.conftest import one_thread, pusht_zarr_path  # noqa: F401 - one_thread: every number on one thread

REPO = Path(__file__).resolve().parents[1]
KEYPOINTS = FeatureSpec(TRACKS["keypoints"].obs_shapes, 2)


def _bench_device() -> torch.device:
    return torch.device(os.environ.get("POLIBENCH_BENCH_DEVICE", "cpu"))


@pytest.fixture(scope="session")
def device() -> torch.device:
    device = _bench_device()
    if device.type == "cuda" and not torch.cuda.is_available():
        pytest.exit("POLIBENCH_BENCH_DEVICE=cuda but torch sees no GPU: unset it to benchmark on the CPU", 2)
    return device


@pytest.fixture(scope="session")
def data():
    return PushTZarr(path=pusht_zarr_path(), max_episodes=20).load()


@pytest.fixture
def make_policy(data, device) -> Callable[[str, Sequence[str]], Policy]:
    """Build the policy a gin file assembles (untrained), with normalisation stats from real data."""

    def build(gin_file: str, params: Sequence[str] = ()) -> Policy:
        parse([CONFIG_DIR / gin_file], params)
        policy = build_policy(Experiment(), KEYPOINTS)
        policy.normalizer.set_stats(data_stats(data, KEYPOINTS.vector_keys))
        return policy.to(device).eval()

    return build


def pytest_benchmark_update_machine_info(config, machine_info: dict) -> None:
    """pytest-benchmark records the CPU only: name the GPU too, so a JSON says which card its timings are from."""
    if _bench_device().type == "cuda" and torch.cuda.is_available():
        machine_info["gpu"] = torch.cuda.get_device_name(0)
