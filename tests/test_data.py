"""Data: the Push-T zarr source, episode-aware windows and padding, normalisation stats, the episode split."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import zarr

from components.data_source.pusht_zarr import DataFormatError, PushTZarr
from polibench.data.download import ENV_VAR, DatasetNotFoundError
from polibench.data.episodes import split_episodes
from polibench.data.keypoints import keypoints_from_pose
from polibench.data.windows import WindowSampler
from polibench.normalize import MinMaxNormalizer, minmax_stats


def copy_without_images(zarr_path: Path, dest: Path) -> Path:
    """A writable copy of the release without data/img (3 MB instead of 32)."""
    shutil.copytree(zarr_path, dest, ignore=shutil.ignore_patterns("img"))
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dest


def test_source_reads_real_arrays(zarr_path, small_data):
    raw = zarr.open_group(str(zarr_path), mode="r")
    ends = raw["meta/episode_ends"][:12]
    state = raw["data/state"][: ends[-1]]
    np.testing.assert_array_equal(small_data.episode_ends, ends)
    np.testing.assert_array_equal(small_data.obs["agent_pos"], state[:, :2])
    np.testing.assert_array_equal(small_data.action, raw["data/action"][: ends[-1]])
    np.testing.assert_allclose(small_data.obs["environment_state"], keypoints_from_pose(state[:, 2:5]), atol=1e-4)


def test_windows_match_raw_zarr_with_padding_at_episode_edges(zarr_path, small_data):
    raw = zarr.open_group(str(zarr_path), mode="r")
    ends = raw["meta/episode_ends"][:12]
    action = raw["data/action"][: ends[-1]]
    agent = raw["data/state"][: ends[-1], :2]
    sampler = WindowSampler(small_data, obs_offsets=[-1, 0], action_offsets=range(-1, 15))
    start1, end1 = int(ends[0]), int(ends[1])  # second episode
    anchors = torch.tensor([start1, start1 + 5, end1 - 3, end1 - 1])
    batch = sampler.get(anchors)
    for row, t in enumerate(anchors.tolist()):
        for j, off in enumerate(range(-1, 15)):
            idx = min(max(t + off, start1), end1 - 1)
            np.testing.assert_array_equal(batch["action"][row, j].numpy(), action[idx])
            assert bool(batch["action_is_pad"][row, j]) == (not start1 <= t + off < end1)
        for j, off in enumerate([-1, 0]):
            idx = max(t + off, start1)
            np.testing.assert_array_equal(batch["agent_pos"][row, j].numpy(), agent[idx])
            assert bool(batch["obs_is_pad"][row, j]) == (t + off < start1)
    assert batch["action_is_pad"][0, 0] and not batch["action_is_pad"][0, 1]  # before the episode start
    assert batch["action_is_pad"][3, 2:].all() and not batch["action_is_pad"][3, 1]  # past its end


def test_sampling_is_reproducible(small_data):
    sampler = WindowSampler(small_data, [0], range(10))
    a = sampler.sample(32, torch.Generator().manual_seed(3))
    b = sampler.sample(32, torch.Generator().manual_seed(3))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_minmax_roundtrip_and_range(small_data):
    stats = minmax_stats({"action": small_data.action})
    norm = MinMaxNormalizer({"action": (2,)})
    norm.set_stats(stats)
    x = torch.as_tensor(small_data.action)
    y = norm.normalize("action", x)
    assert y.min() >= -1 - 1e-5 and y.max() <= 1 + 1e-5
    torch.testing.assert_close(norm.unnormalize("action", y), x, atol=1e-3, rtol=0)


def test_split_is_by_whole_episode(small_data):
    train, val = split_episodes(small_data, 0.25, seed=0)
    assert val is not None and val.n_episodes == 3 and train.n_episodes == 9
    assert not set(train.episode_ids) & set(val.episode_ids)
    assert len(train.action) + len(val.action) == len(small_data.action)
    same, _ = split_episodes(small_data, 0.25, seed=0)
    np.testing.assert_array_equal(same.episode_ids, train.episode_ids)


def test_missing_path_error_names_the_setting(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="not found at .*nowhere.zarr"):
        PushTZarr(path=tmp_path / "nowhere.zarr").load()


def test_no_path_and_no_download_names_env_var(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("POLIBENCH_CACHE", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match=ENV_VAR):
        PushTZarr(download=False).load()


def test_offline_download_fails_clearly(tmp_path, monkeypatch):
    from polibench.data import download

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("POLIBENCH_CACHE", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="Could not download"):
        download.download_pusht(url="http://127.0.0.1:9/pusht.zip", timeout=2)
    assert not (tmp_path / download.ZARR_IN_ARCHIVE).exists()


def test_truncated_zarr_is_reported(zarr_path, tmp_path):
    copy = copy_without_images(zarr_path, tmp_path / "broken.zarr")
    shutil.rmtree(copy / "data" / "action")
    with pytest.raises(DataFormatError, match="lacks"):
        PushTZarr(path=copy, max_episodes=2).load()


@pytest.mark.parametrize("array", ["data/state", "data/action", "meta/episode_ends"])
def test_missing_chunk_file_is_reported_not_read_as_zeros(zarr_path, tmp_path, array):
    """zarr alone reads a missing chunk as fill values: 161 all-zero rows of data/state that would be trained on."""
    copy = copy_without_images(zarr_path, tmp_path / "holed.zarr")
    (copy / array / ("0" if array.startswith("meta") else "5.0")).unlink()
    with pytest.raises(DataFormatError, match=f"{array} has .* of its .* chunk files"):
        PushTZarr(path=copy, max_episodes=2).load()


def test_corrupt_chunk_is_reported(zarr_path, tmp_path):
    copy = copy_without_images(zarr_path, tmp_path / "corrupt.zarr")
    chunk = sorted(p for p in (copy / "data" / "state").iterdir() if not p.name.startswith("."))[0]
    chunk.write_bytes(b"\x00garbage" * 8)
    with pytest.raises(DataFormatError, match="corrupt"):
        PushTZarr(path=copy, max_episodes=2).load()


def test_dataset_layout_equals_the_env_observation(small_data):
    from polibench.evaluation.env import make_env

    env = make_env("keypoints")
    obs, _ = env.reset(seed=0)
    assert set(obs) == set(small_data.obs)
    for key, value in obs.items():
        assert np.asarray(value).shape == small_data.obs[key].shape[1:]
        assert small_data.obs[key].min() >= 0 and small_data.obs[key].max() <= 512 + 120  # frame (+ T overhang)
