"""Push-T tracks: which gym-pusht observation type a policy sees and which entries it holds.

The data pipeline produces exactly the entries the environment returns for the track, under the same keys,
so a trained policy can be fed gym-pusht's raw observation.
"""

from __future__ import annotations

from dataclasses import dataclass

ENV_ID = "gym_pusht/PushT-v0"
ACTION_DIM = 2
ACTION_LOW, ACTION_HIGH = 0.0, 512.0
MAX_EPISODE_STEPS = 300
SUCCESS_COVERAGE = 0.95


@dataclass(frozen=True)
class Track:
    name: str
    env_obs_type: str
    obs_shapes: dict[str, tuple[int, ...]]


TRACKS: dict[str, Track] = {
    "keypoints": Track(
        "keypoints", "environment_state_agent_pos", {"agent_pos": (2,), "environment_state": (16,)}
    ),
    "pixels": Track("pixels", "pixels_agent_pos", {"agent_pos": (2,), "pixels": (96, 96, 3)}),
}


def get_track(name: str) -> Track:
    try:
        return TRACKS[name]
    except KeyError:
        raise ValueError(f"Unknown track {name!r}; valid tracks: {', '.join(TRACKS)}") from None
