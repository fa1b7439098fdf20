"""Where the paper's inputs live and how one value is read from them.

Every number in the paper is one key of one committed JSON file (a sweep's results.json or verdicts*.json, a run's
run.json or metrics.json, a speed benchmark, a published reference); nothing is recomputed, so the paper and
RESULTS.md cannot disagree. A missing file or key is a :class:`PaperError` naming both, raised before LaTeX runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STUDY = Path(__file__).resolve().parents[2]
REPO = STUDY.parents[1]
#: The committed CPU-track sweeps, relative to a study root.
CPU = Path("results") / "cpu"


class PaperError(ValueError):
    """Bad input or a failed check or build, with what to do about it (the CLI prints it without a traceback)."""


def read(path: Path) -> Any:
    """A committed JSON file; its absence names the file, since a sweep or benchmark that is not committed yet
    is the usual cause."""
    if not path.is_file():
        raise PaperError(f"{path} is missing: commit the results it holds (RESULTS.md and COMMANDS.md say which "
                         "command writes it), or drop what the paper reads from it")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PaperError(f"{path} is not valid JSON ({exc})") from exc


def lookup(doc: Any, key: str, path: Path) -> Any:
    """The value at ``key`` (segments joined by ``/``) in ``doc`` read from ``path``. A list of objects is indexed
    by their ``name`` (``variants/diffusion``, ``benchmarks/test_bare_env_steps``)."""
    node = doc
    for segment in key.split("/"):
        if isinstance(node, list):
            node = next((item for item in node if isinstance(item, dict) and item.get("name") == segment), None)
        elif isinstance(node, dict):
            node = node.get(segment)
        else:
            node = None
        if node is None:
            raise PaperError(f"{path} has no {key!r} (no {segment!r} there): the file changed shape, or the paper "
                             "names a variant or benchmark it does not hold")
    return node
