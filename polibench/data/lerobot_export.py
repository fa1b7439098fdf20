"""`polibench data export-lerobot`: our Push-T demonstrations as a LeRobotDataset (v3.0 format, LeRobot 0.4.4).

The dataset is written into a temporary folder beside ``--out`` and renamed at the end, so an interrupted
export never leaves a folder that looks like a complete dataset.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from polibench import registry
from polibench.data.download import ENV_VAR
from polibench.data.episodes import EpisodeData
from polibench.interop.lerobot import LEROBOT_NAMES, require_lerobot
from polibench.tracks import TRACKS, get_track

FPS = 10  # gym-pusht's control rate
TASK = "Push the T-shaped block onto the T-shaped target."
ROBOT_TYPE = "2d pointer"


class ExportTargetExistsError(ValueError):
    """The output folder already holds something; an export never overwrites."""


def lerobot_features(track: str) -> dict[str, dict]:
    """LeRobot feature declarations for a track's entries and the action."""
    features = {}
    for key, shape in get_track(track).obs_shapes.items():
        if len(shape) == 3:
            features[LEROBOT_NAMES[key]] = {"dtype": "image", "shape": shape, "names": ["height", "width", "channel"]}
        else:
            features[LEROBOT_NAMES[key]] = {"dtype": "float32", "shape": shape, "names": None}
    features["action"] = {"dtype": "float32", "shape": (2,), "names": ["x", "y"]}
    return features


def write_dataset(data: EpisodeData, track: str, root: Path, repo_id: str) -> None:
    """Write ``data`` as a new LeRobotDataset at ``root`` (which must not exist)."""
    lerobot_dataset = require_lerobot("lerobot.datasets.lerobot_dataset")
    dataset = lerobot_dataset.LeRobotDataset.create(repo_id=repo_id, fps=FPS, features=lerobot_features(track),
                                                    root=root, robot_type=ROBOT_TYPE, use_videos=False)
    for start, end in zip(data.episode_starts, data.episode_ends):
        for frame in range(start, end):
            values = {LEROBOT_NAMES[key]: arr[frame] for key, arr in data.obs.items()}
            dataset.add_frame({**values, "action": data.action[frame], "task": TASK})
        dataset.save_episode()
    dataset.finalize()


def export(zarr: str | os.PathLike, out: str | os.PathLike, repo_id: str, track: str = "keypoints",
           max_episodes: int | None = None) -> Path:
    """Export the zarr's demonstrations (first ``max_episodes``) to ``out``; returns ``out``."""
    out = Path(out).expanduser().resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportTargetExistsError(f"{out} already exists and is not empty; choose another --out or remove it")
    data = registry.create("data_source", "pusht_zarr", path=zarr, track=track, max_episodes=max_episodes,
                           download=False).load()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        write_dataset(data, track, tmp / "dataset", repo_id)
        os.replace(tmp / "dataset", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--zarr", default=os.environ.get(ENV_VAR),
                        help=f"pusht_cchi_v7_replay.zarr to export (default: ${ENV_VAR})")
    parser.add_argument("--out", required=True, help="dataset root to create (must not exist or be empty)")
    parser.add_argument("--repo-id", default=None, help="LeRobot repo_id recorded in the dataset "
                        "(default: local/pusht_<track>)")
    parser.add_argument("--max-episodes", type=int, default=None, help="export only the first N episodes")
    parser.add_argument("--track", choices=sorted(TRACKS), default="keypoints",
                        help="keypoints: agent_pos + the T's 8 keypoints; pixels: agent_pos + 96x96 frames")


def main(args: argparse.Namespace) -> int:
    if not args.zarr:
        raise ValueError(f"no Push-T zarr given: pass --zarr PATH or set {ENV_VAR}")
    out = export(args.zarr, args.out, args.repo_id or f"local/pusht_{args.track}", args.track, args.max_episodes)
    print(f"wrote a LeRobotDataset ({args.track} track) to {out}")
    return 0
