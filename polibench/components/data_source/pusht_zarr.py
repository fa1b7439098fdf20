"""Push-T human demonstrations (Diffusion Policy release): the zarr, or for keypoints the copy shipped with polibench."""

from __future__ import annotations

import os

import numpy as np

from polibench.data.download import pusht_path_configured, resolve_pusht_path
from polibench.data.embedded import DEMO_ARRAYS, read_embedded
from polibench.data.episodes import EpisodeData
from polibench.data.keypoints import keypoints_from_pose
from polibench.data.zarr_reader import DataFormatError, read_pusht_zarr
from polibench.registry import register
from polibench.tracks import get_track

__all__ = ["DataFormatError", "PushTZarr"]


@register("data_source", "pusht_zarr")
class PushTZarr:
    """Push-T demos (Diffusion Policy zarr): keypoints computed from block poses, or 96x96 frames.

    Where the data comes from, first match: ``path``; ``$POLIBENCH_PUSHT_ZARR``; for the keypoints track, the
    demonstrations shipped in ``polibench/data/pusht_keypoints.npz`` (the same arrays as the zarr, so the same
    training); for the pixels track, the download cache, downloading the public release if allowed.

    Args:
        path: the ``pusht_cchi_v7_replay.zarr`` folder; ``None`` follows the order above.
        track: ``keypoints`` or ``pixels`` (see polibench.tracks).
        max_episodes: read only the first N episodes (tests, quick runs); ``None`` reads all 206.
        download: allow downloading the public release when the pixels track has no zarr.
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        track: str = "keypoints",
        max_episodes: int | None = None,
        download: bool = True,
    ) -> None:
        if max_episodes is not None and max_episodes < 1:
            raise ValueError(f"max_episodes must be >= 1 or None, got {max_episodes}")
        self.path = path
        self.track = get_track(track)
        self.max_episodes = max_episodes
        self.download = download

    def _read(self) -> dict[str, np.ndarray]:
        pixels = "pixels" in self.track.obs_shapes
        if not pixels and not pusht_path_configured(self.path):
            return read_embedded(self.max_episodes)
        path = resolve_pusht_path(self.path, self.download)
        return read_pusht_zarr(path, DEMO_ARRAYS | ({"img": "data/img"} if pixels else {}), self.max_episodes)

    def load(self) -> EpisodeData:
        arrays = self._read()
        ends = arrays["episode_ends"]
        state = np.asarray(arrays["state"], dtype=np.float32)
        obs = {"agent_pos": state[:, :2]}
        if "environment_state" in self.track.obs_shapes:
            obs["environment_state"] = keypoints_from_pose(state[:, 2:5])
        if "pixels" in self.track.obs_shapes:
            obs["pixels"] = arrays["img"].clip(0, 255).round().astype(np.uint8)
        return EpisodeData(obs=obs, action=np.asarray(arrays["action"], dtype=np.float32), episode_ends=ends,
                           episode_ids=np.arange(len(ends)))
