"""Push-T environments for a track: single envs, vector envs, and exact placement in a recorded state.

gym-pusht facts this module works around (gym-pusht 0.1.8, gymnasium 1.4):
- pixel observations are drawn by ``_render``, which raises for any ``render_mode`` but ``"rgb_array"``, so the pixel
  track always runs with ``render_mode="rgb_array"``;
- ``reset(options={"reset_to_state": s})`` sets the block position before its angle (a legacy order), which rotates
  the block about its centre of gravity and so moves its origin away from the recorded one;
- ``reset`` runs one physics step from its (random) start; if agent and block overlap there, pymunk caches the contact
  and it perturbs the next steps (a replay then drifts 0.05-2 px, up to ~100 px on some demos), so an exact state is
  set in a freshly built space;
- gymnasium 1.x vector envs autoreset by default: we build them with autoreset disabled so an episode can never
  silently restart with an unseeded start and be counted twice.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import gymnasium as gym
import numpy as np

from polibench.tracks import ENV_ID, get_track

#: Start method of AsyncVectorEnv workers. ``spawn``: forking a parent that already holds torch threads or a
#: pygame/SDL state can deadlock, and spawn behaves the same on every OS. Factories must therefore be importable.
DEFAULT_CONTEXT = "spawn"


def make_env(track: str, render_mode: str | None = None) -> gym.Env:
    """One gym-pusht env whose observation has exactly the entries (keys, shapes) of ``Track.obs_shapes``."""
    import gym_pusht  # noqa: F401 - registers gym_pusht/PushT-v0

    spec = get_track(track)
    if spec.env_obs_type.startswith("pixels"):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"track {track!r} observes pixels, drawn by gym-pusht only with render_mode='rgb_array'")
        render_mode = "rgb_array"
    env = gym.make(ENV_ID, obs_type=spec.env_obs_type, render_mode=render_mode)
    space = env.observation_space
    shapes = {key: tuple(sub.shape) for key, sub in space.spaces.items()} if isinstance(space, gym.spaces.Dict) else {}
    if shapes != spec.obs_shapes:
        raise RuntimeError(f"gym-pusht observation {shapes} does not match track {track!r}: {spec.obs_shapes}")
    return env


def make_vector_env(
    track: str,
    n_envs: int,
    asynchronous: bool = False,
    render_mode: str | None = None,
    context: str = DEFAULT_CONTEXT,
) -> gym.vector.VectorEnv:
    """``n_envs`` copies of :func:`make_env` with autoreset DISABLED: the caller resets finished envs explicitly.

    A finished sub-env must be reset (``reset(options={"reset_mask": done})``) before the next ``step``, which
    otherwise raises: the caller keeps stepping it (reset) and ignores its results until the round ends.
    With ``asynchronous`` and the default ``spawn`` context, a script that builds one must guard its entry point
    with ``if __name__ == "__main__":`` (workers re-import the main module).
    """
    if n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    factories = [functools.partial(make_env, track, render_mode) for _ in range(n_envs)]
    mode = gym.vector.AutoresetMode.DISABLED
    if asynchronous:
        return gym.vector.AsyncVectorEnv(factories, context=context, autoreset_mode=mode)
    return gym.vector.SyncVectorEnv(factories, autoreset_mode=mode)


def set_exact_state(env: gym.Env, state: Sequence[float] | np.ndarray) -> Any:
    """Reset ``env`` and place it exactly in a recorded state (agent x, y, block x, y, angle); returns the observation.

    The angle is set before the position, so the block origin lands on the recorded one (gym-pusht's
    ``reset_to_state`` does the reverse). The space is fresh (zero velocities, no cached contacts) and no physics
    step is run, so the observation is the recorded state itself and a replay from it is deterministic.
    """
    state = np.asarray(state, dtype=np.float64)
    if state.shape != (5,):
        raise ValueError(f"state must be (agent x, agent y, block x, block y, angle), got shape {state.shape}")
    env.reset()  # resets the TimeLimit counter and satisfies the wrappers' reset-before-step check
    base = env.unwrapped
    # reset() ran one physics step from a random start; contacts cached by that step would leak into the next
    # step and make a replay depend on the RNG's history, so rebuild a fresh space (gym-pusht's own reset helper).
    base._setup()
    base.agent.position = (state[0], state[1])
    base.block.angle = state[4]
    base.block.position = (state[2], state[3])
    return base.get_obs()
