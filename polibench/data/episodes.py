"""Demonstrations as flat per-frame arrays plus episode boundaries, and the split by episode."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class EpisodeData:
    """Frames of several episodes laid end to end.

    ``obs`` maps each observation entry to [N, ...]; ``action`` is [N, action_dim]; ``episode_ends`` holds the
    exclusive end frame of each episode; ``episode_ids`` the episodes' indices in the source file.
    """

    obs: dict[str, np.ndarray]
    action: np.ndarray
    episode_ends: np.ndarray
    episode_ids: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.action)
        for key, arr in self.obs.items():
            if len(arr) != n:
                raise ValueError(f"observation {key!r} has {len(arr)} frames but there are {n} actions")
        if len(self.episode_ends) == 0 or self.episode_ends[-1] != n or np.any(np.diff(self.episode_ends) <= 0):
            raise ValueError("episode_ends must be strictly increasing and end at the number of frames")

    @property
    def episode_starts(self) -> np.ndarray:
        return np.concatenate([[0], self.episode_ends[:-1]])

    @property
    def n_episodes(self) -> int:
        return len(self.episode_ends)

    def select(self, positions: np.ndarray) -> "EpisodeData":
        """The episodes at ``positions`` (indices into this object's episodes), in that order."""
        starts, ends = self.episode_starts[positions], self.episode_ends[positions]
        frames = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)])
        return EpisodeData(
            obs={k: v[frames] for k, v in self.obs.items()},
            action=self.action[frames],
            episode_ends=np.cumsum(ends - starts),
            episode_ids=self.episode_ids[positions],
        )


def split_episodes(data: EpisodeData, val_fraction: float, seed: int) -> tuple[EpisodeData, EpisodeData | None]:
    """Random split by whole episodes (never by frame, which would leak near-duplicate frames into validation)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = int(round(val_fraction * data.n_episodes))
    if n_val == 0:
        return data, None
    order = np.random.default_rng(seed).permutation(data.n_episodes)
    return data.select(np.sort(order[n_val:])), data.select(np.sort(order[:n_val]))
