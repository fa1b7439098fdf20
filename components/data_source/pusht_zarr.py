"""Push-T human demonstrations from the Diffusion Policy zarr release."""

from __future__ import annotations

import os

import numpy as np
import zarr

from polibench.data.download import resolve_pusht_path
from polibench.data.episodes import EpisodeData
from polibench.data.keypoints import keypoints_from_pose
from polibench.registry import register
from polibench.tracks import get_track

REQUIRED_ARRAYS = ("data/state", "data/action", "meta/episode_ends")


class DataFormatError(ValueError):
    """The zarr exists but is not a readable Push-T demonstration set."""


@register("data_source", "pusht_zarr")
class PushTZarr:
    """Push-T demos (Diffusion Policy zarr): keypoints computed from block poses, or 96x96 frames.

    Args:
        path: the ``pusht_cchi_v7_replay.zarr`` folder; ``None`` uses ``$POLIBENCH_PUSHT_ZARR`` or the cache.
        track: ``keypoints`` or ``pixels`` (see polibench.tracks).
        max_episodes: read only the first N episodes (tests, quick runs); ``None`` reads all 206.
        download: allow downloading the public release when no path is configured.
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

    def load(self) -> EpisodeData:
        path = resolve_pusht_path(self.path, self.download)
        try:
            root = zarr.open_group(str(path), mode="r")
            missing = [name for name in REQUIRED_ARRAYS if name not in root]
        except Exception as exc:
            raise DataFormatError(f"{path} is not a readable zarr group ({type(exc).__name__}: {exc})") from exc
        if missing:
            raise DataFormatError(f"{path} lacks {missing}: not a Push-T demonstration zarr (or it is truncated)")
        try:
            ends = np.asarray(root["meta/episode_ends"][:], dtype=np.int64)
            if self.max_episodes is not None:
                ends = ends[: self.max_episodes]
            n = int(ends[-1])
            state = np.asarray(root["data/state"][:n], dtype=np.float32)
            action = np.asarray(root["data/action"][:n], dtype=np.float32)
            obs = {"agent_pos": state[:, :2]}
            if "environment_state" in self.track.obs_shapes:
                obs["environment_state"] = keypoints_from_pose(state[:, 2:5])
            if "pixels" in self.track.obs_shapes:
                obs["pixels"] = np.asarray(root["data/img"][:n]).clip(0, 255).round().astype(np.uint8)
        except DataFormatError:
            raise
        except Exception as exc:  # blosc/zarr errors on truncated or corrupt chunks
            raise DataFormatError(
                f"{path} could not be read ({type(exc).__name__}: {exc}); the copy is probably truncated or "
                "corrupt: download it again"
            ) from exc
        if len(state) != n or len(action) != n:
            raise DataFormatError(f"{path}: episode_ends says {n} frames but the arrays hold fewer (truncated copy?)")
        return EpisodeData(obs=obs, action=action, episode_ends=ends, episode_ids=np.arange(len(ends)))
