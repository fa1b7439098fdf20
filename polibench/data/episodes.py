"""Demonstrations as flat per-frame arrays plus episode boundaries, and the split by episode."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polibench.data.zarr_reader import DataFormatError

#: Min-max normalisation squeezes a feature whose central values (all but 0.1% at each end) span less than this
#: share of its range into nothing: its extremes are outliers (a corrupt frame), not demonstrations.
MIN_CENTRAL_SHARE = 1e-3


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


def check_values(data: EpisodeData) -> None:
    """Refuse (DataFormatError naming the feature, dimension and episode) vector data min-max normalisation cannot
    serve: NaN or inf, which training would report as a diverging loss, and extremes so far out that the other
    frames normalise to one value, which would train and evaluate without a word."""
    arrays = {f"observation {k!r}": v for k, v in data.obs.items() if v.ndim == 2} | {"action": data.action}
    for name, values in arrays.items():
        values = np.asarray(values, dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            frame, dim = np.argwhere(bad)[0]
            raise DataFormatError(f"the training data's {name} holds {values[frame, dim]} (dimension {dim}, "
                                  f"{_where(data, frame)}): the data is damaged; repair or drop that episode")
        low, high = values.min(axis=0), values.max(axis=0)
        central = np.quantile(values, 0.999, axis=0) - np.quantile(values, 0.001, axis=0)
        for dim in np.flatnonzero(central < MIN_CENTRAL_SHARE * (high - low)):
            frame = int(np.argmax(np.abs(values[:, dim] - np.median(values[:, dim]))))
            raise DataFormatError(f"the training data's {name}, dimension {dim}, spans [{low[dim]:.4g}, "
                                  f"{high[dim]:.4g}] but almost all its values lie within {central[dim]:.4g} of each "
                                  f"other; {values[frame, dim]:.4g} ({_where(data, frame)}) would squeeze the rest "
                                  "into one value when normalised. Repair or drop that episode")


def _where(data: EpisodeData, frame: int) -> str:
    position = int(np.searchsorted(data.episode_ends, frame, side="right"))
    return f"frame {frame - data.episode_starts[position]} of episode {data.episode_ids[position]}"
