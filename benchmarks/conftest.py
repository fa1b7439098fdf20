"""Fixtures for the speed benchmarks: policies built from the shipped gin files, normalised on real data."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import pytest

from components.data_source.pusht_zarr import PushTZarr
from polibench.config import parse
from polibench.experiment import Experiment, build_policy
from polibench.normalize import minmax_stats
from polibench.policy import FeatureSpec, Policy
from polibench.tracks import TRACKS
from tests.conftest import one_thread, pusht_zarr_path  # noqa: F401 - one_thread: every number on one thread

REPO = Path(__file__).resolve().parents[1]
KEYPOINTS = FeatureSpec(TRACKS["keypoints"].obs_shapes, 2)


@pytest.fixture(scope="session")
def data():
    return PushTZarr(path=pusht_zarr_path(), max_episodes=20).load()


@pytest.fixture
def make_policy(data) -> Callable[[str, Sequence[str]], Policy]:
    """Build the policy a gin file assembles (untrained), with normalisation stats from real data."""

    def build(gin_file: str, params: Sequence[str] = ()) -> Policy:
        parse([REPO / "gin" / gin_file], params)
        policy = build_policy(Experiment(), KEYPOINTS)
        policy.normalizer.set_stats(minmax_stats({k: data.obs[k] for k in KEYPOINTS.vector_keys}
                                                 | {"action": data.action}))
        return policy.eval()

    return build
