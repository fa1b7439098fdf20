"""Push-T demonstrations from a LeRobotDataset (v3.0, LeRobot 0.4.4): a local root or the Hugging Face hub."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from polibench.data.download import DatasetNotFoundError
from polibench.data.episodes import EpisodeData
from polibench.data.zarr_reader import DataFormatError
from polibench.interop.lerobot import LEROBOT_NAMES, require_lerobot
from polibench.registry import register
from polibench.tracks import get_track


def to_uint8_hwc(frames: np.ndarray) -> np.ndarray:
    """Frames as gym-pusht renders them, [N, H, W, 3] uint8, from LeRobot's [N, 3, H, W] floats in [0, 1]."""
    if frames.ndim == 4 and frames.shape[1] == 3:
        frames = frames.transpose(0, 2, 3, 1)
    if frames.dtype != np.uint8:
        frames = (frames * 255.0).clip(0, 255).round().astype(np.uint8)
    return frames


@register("data_source", "lerobot_dataset")
class LeRobotDatasetSource:
    """A LeRobotDataset (e.g. one `polibench data export-lerobot` wrote) as our episodes, for every policy.

    Entries are read under LeRobot's names (observation.state -> agent_pos, observation.environment_state ->
    the keypoints, observation.image -> pixels). Datasets from other tools must use gym-pusht's keypoint order
    (polibench.data.keypoints) for the keypoints track; video datasets decode frame by frame (slow, once).

    Args:
        root: the dataset folder; it must exist unless ``repo_id`` is also given (then LeRobot downloads into it).
        repo_id: hub dataset id (needs network unless cached in $HF_LEROBOT_HOME).
        track: ``keypoints`` or ``pixels``.
        max_episodes: read only the first N episodes.
    """

    def __init__(self, root: str | os.PathLike | None = None, repo_id: str | None = None,
                 track: str = "keypoints", max_episodes: int | None = None) -> None:
        if root is None and repo_id is None:
            raise ValueError("data_source.lerobot_dataset needs root (a local dataset folder) or repo_id (hub)")
        if max_episodes is not None and max_episodes < 1:
            raise ValueError(f"max_episodes must be >= 1 or None, got {max_episodes}")
        self.root = Path(root).expanduser() if root is not None else None
        self.repo_id = repo_id
        self.track = get_track(track)
        self.max_episodes = max_episodes

    def _open(self):
        lerobot_dataset = require_lerobot("lerobot.datasets.lerobot_dataset")
        if self.root is not None and self.repo_id is None and not (self.root / "meta" / "info.json").exists():
            raise DatasetNotFoundError(
                f"no LeRobotDataset at {self.root} (meta/info.json missing). Fix root, export one with "
                "`polibench data export-lerobot --out ROOT`, or give repo_id to download it from the hub."
            )
        episodes = list(range(self.max_episodes)) if self.max_episodes is not None else None
        return lerobot_dataset.LeRobotDataset(self.repo_id or f"local/{self.root.name}", root=self.root,
                                              episodes=episodes)

    def load(self) -> EpisodeData:
        dataset = self._open()
        wanted = {key: LEROBOT_NAMES[key] for key in self.track.obs_shapes} | {"action": "action"}
        missing = sorted(name for name in wanted.values() if name not in dataset.features)
        if missing:
            raise DataFormatError(
                f"LeRobotDataset {dataset.root} lacks {missing} for the {self.track.name} track "
                f"(it has {sorted(dataset.features)})"
            )
        table = dataset.hf_dataset.with_format("numpy")[:]  # whole columns at once (row iteration is ~100x slower)
        order = np.argsort(table["index"], kind="stable")
        image_keys = {key for key, shape in self.track.obs_shapes.items() if len(shape) == 3}
        columns = {}
        for key, name in wanted.items():
            if name in dataset.meta.video_keys:
                frames = np.stack([dataset[int(i)][name].numpy() for i in order])
            else:
                frames = np.asarray(table[name])[order]
            columns[key] = to_uint8_hwc(frames) if key in image_keys else frames.astype(np.float32)
        episode_index = np.asarray(table["episode_index"])[order].reshape(-1)
        changes = np.flatnonzero(np.diff(episode_index)) + 1
        ends = np.append(changes, len(episode_index)).astype(np.int64)
        return EpisodeData(obs={k: v for k, v in columns.items() if k != "action"}, action=columns["action"],
                           episode_ends=ends, episode_ids=episode_index[ends - 1].astype(np.int64))
