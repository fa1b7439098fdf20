"""Atomic file writes (a reader never sees a half-written result, checkpoint or log summary), and JSON reads that
name the file they fail on."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text))


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_to_builtin) + "\n")


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> Path:
    return write_text(path, "".join(json.dumps(r, default=_to_builtin) + "\n" for r in rows))


class JSONFileError(ValueError):
    """A JSON file polibench wrote is no longer valid JSON (edited by hand, truncated by a full disk, ...)."""


def read_json(path: str | Path) -> Any:
    """The JSON in ``path``; invalid JSON is a JSONFileError naming the file and the place, not a bare decoder error."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise JSONFileError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                            "restore it from a copy or regenerate it with the command that wrote it") from None
    except UnicodeDecodeError:
        raise JSONFileError(f"{path} is not a text file; restore it from a copy or regenerate it") from None


def _to_builtin(obj: Any) -> Any:
    """json fallback for numpy scalars and arrays."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
