"""Atomic file writes (a reader never sees a half-written result, checkpoint or log summary), and reads that take
regular files only, of a size polibench could have written, naming the file they fail on."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The process's umask, read once at import (reading it means setting it, which is not thread-safe).
UMASK = _umask()


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``.

    The file gets the mode a plain ``open`` would give it (0o666 less the umask), not the temporary file's 0o600,
    so a run directory shared with colleagues stays readable to them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)  # some writers (safetensors) make the file anew, so its mode is set after
        os.chmod(tmp_path, 0o666 & ~UMASK)
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        if exc.filename is None:  # a failed write() names no file (a full disk, a file-size limit): name ours
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
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


#: The most a text file polibench writes (a config, a JSON record, a checksum) can plausibly hold.
MAX_TEXT_BYTES = 64 << 20
_KINDS = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISCHR: "a character device",
          stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}


class InputFileError(ValueError):
    """A file polibench reads is not a regular file, or is larger than any it writes."""


def check_regular_file(path: str | Path, limit: int | None = None) -> None:
    """Refuse ``path`` unless it is a regular file (links followed) of at most ``limit`` bytes: reading a FIFO or a
    device (``/dev/zero``) never ends, and a huge file where polibench writes a small one is not its own."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS.items() if test(info.st_mode)), "not a regular file")
        raise InputFileError(f"{path} is {kind}, not a regular file, so polibench does not read it (the read could "
                             "hang); put the file itself there")
    if limit is not None and info.st_size > limit:
        raise InputFileError(f"{path} holds {info.st_size} bytes, more than the {limit} any such file polibench "
                             "writes can hold; it is not the file polibench wrote there")


def read_text(path: str | Path, limit: int = MAX_TEXT_BYTES) -> str:
    """The text of regular file ``path`` of at most ``limit`` bytes (:func:`check_regular_file`)."""
    check_regular_file(path, limit)
    return Path(path).read_text()


class JSONFileError(ValueError):
    """A JSON file polibench wrote is no longer valid JSON (edited by hand, truncated by a full disk, ...)."""


def read_json(path: str | Path) -> Any:
    """The JSON in ``path``; invalid JSON is a JSONFileError naming the file and the place, not a bare decoder error."""
    path = Path(path)
    try:
        return json.loads(read_text(path))
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
