"""One writer per directory: an exclusive lock that a second `polibench` process is refused by, with a message.

Two processes writing one run directory interleave their logs and leave weights whose checksum belongs to the
other. The lock is ``fcntl.flock`` on a file in the directory: the kernel releases it when its process dies, even on
SIGKILL, so a killed run never leaves a stale lock behind (``--resume`` just works).
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: The lock file inside a locked directory; removed when the lock is released.
LOCK_FILE = ".polibench.lock"


class DirectoryLockedError(RuntimeError):
    """Another process is writing this directory."""


@contextmanager
def exclusive(directory: Path, what: str) -> Iterator[None]:
    """Hold the directory's lock for the ``with`` block (creating the directory); refuse if another process holds it.

    ``what`` names the directory in the refusal (e.g. "run directory").
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_FILE
    fd = _acquire(path, directory, what)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        path.unlink(missing_ok=True)  # while still holding the lock, so no process can lock the unlinked file
        os.close(fd)


def _acquire(path: Path, directory: Path, what: str) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DirectoryLockedError(
                f"{what} {directory} is being written by another polibench process (pid {holder}); a second writer would "
                f"corrupt it. Wait for that process to end, or choose another --out.") from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the previous holder removed the file between our open and our lock: lock the new one
