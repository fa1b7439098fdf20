"""Data: the Push-T zarr and embedded sources, episode-aware windows and padding, normalisation stats, the split."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import zarr

from polibench.components.data_source.pusht_zarr import DataFormatError, PushTZarr
from polibench.data import download
from polibench.data.download import ENV_VAR, DatasetNotFoundError
from polibench.data.embedded import DEMO_ARRAYS, read_embedded, write_embedded
from polibench.data.episodes import split_episodes
from polibench.data.keypoints import keypoints_from_pose
from polibench.data.windows import WindowSampler
from polibench.data.zarr_reader import read_pusht_zarr
from polibench.normalize import MinMaxNormalizer, minmax_stats


def copy_without_images(zarr_path: Path, dest: Path) -> Path:
    """A writable copy of the release without data/img (3 MB instead of 32)."""
    shutil.copytree(zarr_path, dest, ignore=shutil.ignore_patterns("img"))
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dest


@pytest.fixture
def no_configured_zarr(tmp_path, monkeypatch):
    """A machine with no zarr configured and an empty cache, where downloading fails the test."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("POLIBENCH_CACHE", str(tmp_path / "cache"))

    def refuse(*args, **kwargs):
        raise AssertionError("tried to download the Push-T data")

    monkeypatch.setattr(download, "download_pusht", refuse)


def test_source_reads_real_arrays(zarr_path, small_data):
    raw = zarr.open_group(str(zarr_path), mode="r")
    ends = raw["meta/episode_ends"][:12]
    state = raw["data/state"][: ends[-1]]
    np.testing.assert_array_equal(small_data.episode_ends, ends)
    np.testing.assert_array_equal(small_data.obs["agent_pos"], state[:, :2])
    np.testing.assert_array_equal(small_data.action, raw["data/action"][: ends[-1]])
    np.testing.assert_allclose(small_data.obs["environment_state"], keypoints_from_pose(state[:, 2:5]), atol=1e-4)


def test_windows_match_raw_arrays_with_padding_at_episode_edges(small_data):
    raw = read_embedded(max_episodes=12)
    ends, action, agent = raw["episode_ends"], raw["action"], raw["state"][:, :2]
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


def test_pixels_without_zarr_and_download_names_env_var(no_configured_zarr):
    with pytest.raises(DatasetNotFoundError, match=ENV_VAR):
        PushTZarr(track="pixels", download=False).load()


def test_keypoints_default_to_the_embedded_demonstrations_offline(no_configured_zarr):
    data = PushTZarr().load()
    assert data.n_episodes == 206 and len(data.action) == 25650
    assert set(data.obs) == {"agent_pos", "environment_state"}


def test_env_var_takes_precedence_over_the_embedded_file(no_configured_zarr, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "elsewhere.zarr"))
    with pytest.raises(DatasetNotFoundError, match=f"elsewhere.zarr \\(from {ENV_VAR}\\)"):
        PushTZarr().load()


def test_embedded_file_equals_the_zarr(zarr_path, tmp_path):
    """The shipped file holds exactly the zarr's arrays, and rebuilding it from the zarr gives the same arrays."""
    shipped, zarr_arrays = read_embedded(), read_pusht_zarr(zarr_path, DEMO_ARRAYS)
    rebuilt = read_embedded(path=write_embedded(zarr_path, tmp_path / "rebuilt.npz"))
    for arrays in (zarr_arrays, rebuilt):
        assert arrays.keys() == shipped.keys() == {"episode_ends", *DEMO_ARRAYS}
        for key, value in arrays.items():
            assert value.dtype == shipped[key].dtype and np.array_equal(value, shipped[key]), key


def test_embedded_and_zarr_sources_train_on_identical_data(zarr_path, no_configured_zarr):
    """Same frames, dtypes, boundaries and so the same windows and normalisation statistics: runs reproduce."""
    embedded, from_zarr = PushTZarr().load(), PushTZarr(path=zarr_path).load()
    for key in ("agent_pos", "environment_state"):
        assert embedded.obs[key].dtype == from_zarr.obs[key].dtype
        np.testing.assert_array_equal(embedded.obs[key], from_zarr.obs[key])
    np.testing.assert_array_equal(embedded.action, from_zarr.action)
    np.testing.assert_array_equal(embedded.episode_ends, from_zarr.episode_ends)


def test_missing_embedded_file_says_how_to_get_data(tmp_path):
    with pytest.raises(DataFormatError, match=f"missing from this install.*{ENV_VAR}"):
        read_embedded(path=tmp_path / "pusht_keypoints.npz")


def test_offline_download_fails_clearly(tmp_path, monkeypatch):
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


def test_sequences_are_consecutive_windows_of_one_episode(small_data):
    from polibench.data.windows import WindowSampler

    sampler = WindowSampler(small_data, [0], list(range(4)))
    anchors = sampler.sequence_anchors(200, 3, 8, torch.Generator().manual_seed(0))
    episode = torch.as_tensor(np.searchsorted(small_data.episode_ends, anchors.numpy(), side="right"))
    assert (episode == episode[:, :1]).all()  # a run never crosses an episode boundary
    assert ((anchors[:, 1:] - anchors[:, :-1]) == 8).all()  # these episodes are all longer than a run
    batch = sampler.sample_sequences(5, 3, 8, torch.Generator().manual_seed(1))
    expected = sampler.get(sampler.sequence_anchors(5, 3, 8, torch.Generator().manual_seed(1)).reshape(-1))
    assert batch["action"].shape == (15, 4, 2) and torch.equal(batch["action"], expected["action"])
    with pytest.raises(ValueError, match="length >= 1 and stride >= 1"):
        sampler.sample_sequences(4, 0, 8, torch.Generator())
