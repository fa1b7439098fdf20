"""Fetching the public Push-T demonstrations (Diffusion Policy release) into a local cache."""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

PUSHT_URL = "https://diffusion-policy.cs.columbia.edu/data/training/pusht.zip"
ZARR_IN_ARCHIVE = "pusht/pusht_cchi_v7_replay.zarr"
ENV_VAR = "POLIBENCH_PUSHT_ZARR"


class DatasetNotFoundError(FileNotFoundError):
    """The demonstrations are neither where the config points nor downloadable."""


def cache_dir() -> Path:
    return Path(os.environ.get("POLIBENCH_CACHE", Path.home() / ".cache" / "polibench"))


def download_pusht(url: str = PUSHT_URL, dest: Path | None = None, timeout: float = 30.0) -> Path:
    """Download and unpack the release; returns the zarr path. Unpacks to a temp dir first, so a failed download
    never leaves a half-extracted dataset that looks complete."""
    dest = dest or cache_dir()
    target = dest / ZARR_IN_ARCHIVE
    if target.exists():
        return target
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        archive = Path(tmp) / "pusht.zip"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(archive, "wb") as fh:
                shutil.copyfileobj(resp, fh)
        except (urllib.error.URLError, OSError) as exc:
            raise DatasetNotFoundError(
                f"Could not download the Push-T demonstrations from {url} ({exc}). If you are offline, fetch "
                f"pusht.zip elsewhere, unzip it, and point polibench at {ZARR_IN_ARCHIVE} with the {ENV_VAR} "
                "environment variable, `data_source.pusht_zarr.path = '...'` in gin, or `polibench run --data PATH`."
            ) from exc
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(Path(tmp) / ZARR_IN_ARCHIVE, target)
    return target


def pusht_path_configured(path: str | os.PathLike | None) -> bool:
    """Whether the user chose a zarr (a path, or ``$POLIBENCH_PUSHT_ZARR``); the keypoints track reads the
    embedded demonstrations otherwise."""
    return bool(path) or bool(os.environ.get(ENV_VAR))


def resolve_pusht_path(path: str | os.PathLike | None, download: bool) -> Path:
    """The zarr to read: the configured path, else ``$POLIBENCH_PUSHT_ZARR``, else the cache (downloading if
    allowed). A configured path that does not exist is an error, never silently replaced by a download."""
    for source, candidate in (("path", path), (ENV_VAR, os.environ.get(ENV_VAR))):
        if candidate:
            candidate = Path(candidate).expanduser()
            if not candidate.exists():
                raise DatasetNotFoundError(
                    f"Push-T zarr not found at {candidate} (from {source}). Fix the path, unset it to use the "
                    f"download cache ({cache_dir() / ZARR_IN_ARCHIVE}), or download the data from {PUSHT_URL}."
                )
            return candidate
    cached = cache_dir() / ZARR_IN_ARCHIVE
    if cached.exists():
        return cached
    if not download:
        raise DatasetNotFoundError(
            f"No Push-T data configured: set {ENV_VAR}=/path/to/pusht_cchi_v7_replay.zarr or "
            f"`data_source.pusht_zarr.path`, or allow the download of {PUSHT_URL}."
        )
    return download_pusht()
