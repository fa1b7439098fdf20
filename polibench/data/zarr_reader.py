"""Reading the raw arrays of the Diffusion Policy Push-T zarr, refusing incomplete or corrupt copies.

zarr reads a chunk whose file is missing as the array's fill value, without an error: a copy that lost one chunk
file of ``data/state`` would train on 161 rows of zeros. Every array read is checked for all of its chunks first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zarr

EPISODE_ENDS = "meta/episode_ends"


class DataFormatError(ValueError):
    """The data exists but is not a complete, readable Push-T demonstration set."""


def first_episodes(episode_ends: np.ndarray, max_episodes: int | None, source: Path) -> np.ndarray:
    """The end indices of the first ``max_episodes`` episodes (all of them for ``None``); DataFormatError when
    ``source`` holds none."""
    if len(episode_ends) == 0:
        raise DataFormatError(f"{source} holds no episodes (its episode_ends is empty): give a demonstration set "
                              "with at least one episode")
    return episode_ends if max_episodes is None else episode_ends[:max_episodes]


def _check_chunks(array: zarr.Array, path: Path, name: str) -> None:
    stored, expected = array.nchunks_initialized, array.nchunks
    if stored < expected:
        raise DataFormatError(
            f"{path}: {name} has {stored} of its {expected} chunk files; zarr would read each missing one as "
            f"{array.chunks[0]} rows of {array.fill_value}. The copy is incomplete: copy or download it again."
        )


def read_pusht_zarr(path: Path, arrays: dict[str, str], max_episodes: int | None = None) -> dict[str, np.ndarray]:
    """``episode_ends`` and the first episodes' frames of each zarr array in ``arrays`` (our key -> zarr name)."""
    names = [EPISODE_ENDS, *arrays.values()]
    try:
        root = zarr.open_group(str(path), mode="r")
        missing = [name for name in names if name not in root]
    except Exception as exc:
        raise DataFormatError(f"{path} is not a readable zarr group ({type(exc).__name__}: {exc})") from exc
    if missing:
        raise DataFormatError(f"{path} lacks {missing}: not a Push-T demonstration zarr (or it is truncated)")
    for name in names:
        _check_chunks(root[name], path, name)
    try:
        ends = first_episodes(np.asarray(root[EPISODE_ENDS][:], dtype=np.int64), max_episodes, path)
        n = int(ends[-1])
        out = {key: np.asarray(root[name][:n]) for key, name in arrays.items()}
    except DataFormatError:
        raise
    except Exception as exc:  # blosc/zarr errors on truncated or corrupt chunks
        raise DataFormatError(
            f"{path} could not be read ({type(exc).__name__}: {exc}); the copy is probably truncated or "
            "corrupt: download it again"
        ) from exc
    short = [arrays[key] for key, value in out.items() if len(value) != n]
    if short:
        raise DataFormatError(f"{path}: episode_ends says {n} frames but {short} hold fewer (truncated copy?)")
    return {"episode_ends": ends, **out}
