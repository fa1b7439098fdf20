"""The keypoints track's Push-T demonstrations, shipped inside the package so a fresh clone trains offline.

``pusht_keypoints.npz`` holds, unchanged, the three arrays of the Diffusion Policy zarr that the keypoints track
reads: ``data/state`` (agent x, y and block x, y, angle), ``data/action`` and ``meta/episode_ends`` (0.4 MB
instead of the 32 MB zarr with images). Keypoints are computed from the block pose at load time by the same code as
for the zarr, so training from either gives the same windows and statistics bit for bit (tests/test_data.py checks
the file against the zarr). Rebuild it with ``python -m polibench.data.embedded --zarr PATH``.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from polibench.data.zarr_reader import DataFormatError, first_episodes, read_pusht_zarr

EMBEDDED_PATH = Path(__file__).with_name("pusht_keypoints.npz")
#: What every track reads besides episode_ends (our key -> zarr array); the keypoints track reads nothing else.
DEMO_ARRAYS = {"state": "data/state", "action": "data/action"}


def write_embedded(zarr_path: Path, out: Path = EMBEDDED_PATH) -> Path:
    """Copy the keypoints track's arrays of ``zarr_path`` into a compressed npz at ``out``."""
    arrays = read_pusht_zarr(Path(zarr_path), DEMO_ARRAYS)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:  # a file object: numpy would append ".npz" to a path without it
        np.savez_compressed(fh, **arrays)
    return out


REINSTALL = ("reinstall polibench (`pip install -e .` from a full clone), or point POLIBENCH_PUSHT_ZARR at "
             "pusht_cchi_v7_replay.zarr")


def read_embedded(max_episodes: int | None = None, path: Path = EMBEDDED_PATH) -> dict[str, np.ndarray]:
    """``episode_ends``, ``state`` and ``action`` of the first ``max_episodes`` episodes of the shipped file."""
    if not path.exists():
        raise DataFormatError(f"the embedded Push-T demonstrations {path} are missing from this install: {REINSTALL}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            ends = first_episodes(npz["episode_ends"], max_episodes, path)
            n = int(ends[-1])
            out = {"episode_ends": ends} | {key: npz[key][:n] for key in DEMO_ARRAYS}
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, DataFormatError):
            raise
        raise DataFormatError(f"the embedded Push-T demonstrations {path} cannot be read ({type(exc).__name__}: "
                              f"{exc}): {REINSTALL}") from None
    if short := [key for key in DEMO_ARRAYS if len(out[key]) != n]:
        raise DataFormatError(f"the embedded Push-T demonstrations {path} hold fewer frames in {short} than their "
                              f"episode_ends say ({n}): {REINSTALL}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m polibench.data.embedded", description=__doc__.splitlines()[0])
    parser.add_argument("--zarr", required=True, help="the full pusht_cchi_v7_replay.zarr to copy from")
    parser.add_argument("--out", type=Path, default=EMBEDDED_PATH, help=f"where to write (default {EMBEDDED_PATH})")
    args = parser.parse_args(argv)
    out = write_embedded(Path(args.zarr), args.out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
