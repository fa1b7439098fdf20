"""The Push-T env for each track, and exact placement in recorded demo states (checked on the real demonstrations)."""

from __future__ import annotations

from functools import cache

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils import seeding

from polibench.data.embedded import read_embedded
from polibench.data.keypoints import keypoints_from_pose
from polibench.evaluation.env import make_env, make_vector_env, set_exact_state
from polibench.tracks import TRACKS


@cache
def demos() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(state [N, 5], action [N, 2], episode starts and ends [E, 2]) of the real demonstrations, from the copy
    shipped with polibench (tests/test_data.py checks it equals the zarr)."""
    arrays = read_embedded()
    ends = arrays["episode_ends"]
    bounds = np.stack([np.concatenate([[0], ends[:-1]]), ends], axis=1)
    return arrays["state"].astype(np.float64), arrays["action"].astype(np.float64), bounds


@pytest.mark.parametrize("track", sorted(TRACKS))
def test_observation_matches_track(track: str) -> None:
    shapes = TRACKS[track].obs_shapes
    env = make_env(track)
    obs, _ = env.reset(seed=0)
    assert {k: v.shape for k, v in obs.items()} == shapes
    obs, *_ = env.step(env.action_space.sample())
    assert {k: v.shape for k, v in obs.items()} == shapes
    if "pixels" in shapes:  # gym-pusht's raw dtypes are what a policy is fed
        assert obs["pixels"].dtype == np.uint8 and obs["agent_pos"].dtype == np.float64
    vec = make_vector_env(track, 2)
    obs, _ = vec.reset(seed=[0, 1])
    assert {k: v.shape for k, v in obs.items()} == {k: (2, *s) for k, s in shapes.items()}
    assert vec.metadata["autoreset_mode"] == gym.vector.AutoresetMode.DISABLED
    vec.close()


def test_async_vector_env_matches_sync() -> None:
    """Spawned workers build their env from the importable factory and give the same physics."""
    sync, async_ = make_vector_env("keypoints", 2), make_vector_env("keypoints", 2, asynchronous=True)
    try:
        actions = np.array([[100.0, 200.0], [300.0, 300.0]])
        for vec_obs in zip(sync.reset(seed=[3, 4])[0].values(), async_.reset(seed=[3, 4])[0].values()):
            np.testing.assert_array_equal(*vec_obs)
        for _ in range(5):
            a, b = sync.step(actions), async_.step(actions)
        np.testing.assert_array_equal(a[0]["environment_state"], b[0]["environment_state"])
        np.testing.assert_array_equal(a[4]["coverage"], b[4]["coverage"])
    finally:
        sync.close()
        async_.close()


def test_exact_state_gives_recorded_keypoints() -> None:
    """Keypoints computed from the recorded pose are what the env observes once placed in that state."""
    state, _, bounds = demos()
    env = make_env("keypoints")
    rows = np.concatenate([np.arange(s, e, 4) for s, e in bounds[[0, 40, 90, 150, 205]]])
    for row in rows:
        obs = set_exact_state(env, state[row])
        np.testing.assert_allclose(obs["environment_state"], keypoints_from_pose(state[row, 2:5]), atol=1e-3)
        np.testing.assert_allclose(obs["agent_pos"], state[row, :2], atol=1e-6)
    assert len(rows) > 100


def test_legacy_reset_to_state_moves_the_block() -> None:
    """Why set_exact_state exists: gym-pusht's reset_to_state sets position then angle, which moves the origin."""
    state, _, bounds = demos()
    env = make_env("keypoints")
    offsets = []
    for start, _ in bounds[:10]:
        env.reset(options={"reset_to_state": state[start]})
        offsets.append(np.linalg.norm(np.asarray(env.unwrapped.block.position) - state[start, 2:4]))
        set_exact_state(env, state[start])
        np.testing.assert_allclose(env.unwrapped.block.position, state[start, 2:4], atol=1e-6)
    assert max(offsets) > 10.0  # measured: up to ~90 px on these episodes


@pytest.mark.parametrize("episode", [0, 1, 2])
def test_replay_from_exact_state_tracks_recorded_block(episode: int) -> None:
    """Replaying the recorded actions from the exact start reproduces the recorded block trajectory.

    Measured with a fresh physics space: at most ~3e-5 px on these episodes, at most ~1 px over all 206 demos.
    """
    state, action, bounds = demos()
    start, end = bounds[episode]
    moved = np.linalg.norm(state[start:end, 2:4] - state[start, 2:4], axis=1).max()
    assert moved > 50.0, "the check would be trivial if the block barely moved"
    env = make_env("keypoints")
    set_exact_state(env, state[start])
    errors = []
    for t in range(start, end - 1):
        env.step(action[t])
        errors.append(np.linalg.norm(np.asarray(env.unwrapped.block.position) - state[t + 1, 2:4]))
    assert max(errors) < 2.0, f"replay drifted {max(errors):.2f} px from the recorded block"


def _block_contacts(env: gym.Env) -> list:
    arbiters: list = []
    env.unwrapped.block.each_arbiter(arbiters.append)
    return arbiters


def test_exact_state_drops_contacts_of_the_random_reset() -> None:
    """A random start that overlaps agent and block leaves cached contacts; they must not reach the replay.

    Measured before set_exact_state rebuilt the space: 0.05-2 px replay error on episodes 0-2, ~100 px on episode 107.
    """
    state, action, bounds = demos()
    start, end = bounds[0]
    env = make_env("keypoints")
    seed = next(s for s in range(1000) if (env.reset(seed=s), _block_contacts(env))[1])
    finals = []
    for rng_seed in (None, seed):  # the internal reset() draws a clean start, then the overlapping one
        env = make_env("keypoints")
        if rng_seed is not None:
            env.unwrapped.np_random = seeding.np_random(rng_seed)[0]
        set_exact_state(env, state[start])
        assert not _block_contacts(env)
        for t in range(start, end - 1):
            env.step(action[t])
        finals.append(np.asarray(env.unwrapped.block.position))
    np.testing.assert_array_equal(*finals)
