"""gin parsing of the user's files, and where configs are found: shipped ones by name, a run's saved one by its
place. Errors say which file, which line, which value, and what to do (:mod:`polibench.gin_check`)."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Sequence

import gin

from polibench.gin_check import CONFIG_DIR, MAX_CONFIG_BYTES, ConfigError, check_bound_types, describe, gin_files_near
from polibench.io import check_regular_file, read_text
from polibench.registry import _closest
from polibench.safe_config import check_run_config
from polibench.settings import register_configurables

__all__ = ["CONFIG_DIR", "RUN_CONFIG", "RUN_MARKERS", "ConfigError", "find_config",
           "looks_like_run_config", "operative_config", "parse", "portable_config_name", "shipped_configs"]

#: How commands and sweep records name a shipped config: ``gin/act.gin`` is ``CONFIG_DIR / "act.gin"`` (the folder
#: the configs lived in before they became package data; a file of that path in the working directory wins).
SHIPPED_PREFIX = "gin/"
#: A run directory's saved config, and what else a run directory holds (polibench.rundir): a gin file named like
#: the first, or beside any of the others, came from a run, so possibly from elsewhere.
RUN_CONFIG = "config.gin"
RUN_MARKERS = ("run.json", "train_log.jsonl", "checkpoints", "eval", "model.safetensors")


class _IncludeProbeFilter(logging.Filter):
    """gin logs an ERROR for every search-path miss while resolving an ``include``, even when a later path hits;
    real misses still raise, so these probes are noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.module == "resource_reader" and record.getMessage().startswith("Path not found"))


logging.getLogger().addFilter(_IncludeProbeFilter())
log = logging.getLogger(__name__)


def parse(gin_files: Sequence[str | Path], gin_params: Sequence[str] = ()) -> None:
    """Clear gin, import every component (gin needs them registered first), then parse files and bindings.

    Full gin, for the user's own files, which may import modules. A run directory's saved config.gin comes from
    elsewhere: given here (``polibench run RUN/config.gin`` retrains a shared run), it is checked first by
    :func:`polibench.safe_config.check_run_config`, as loading the run would. What counts as a run's config does
    not hang on one file being there (a shared copy may lack run.json): every file named config.gin, and every gin
    file in a directory holding any of :data:`RUN_MARKERS`, whether named here or reached by an ``include`` line.
    """
    register_configurables()
    gin.clear_config()
    files = [find_config(f) for f in gin_files]
    if warning := include_order_warning(files):
        log.warning(warning)
    for folder in dict.fromkeys(str(f.resolve().parent) for f in files
                                if not f.resolve().is_relative_to(CONFIG_DIR.resolve())):
        if folder not in sys.path:  # a gin file's own folder is importable from it, as a script's is
            sys.path.append(folder)
    search = [*dict.fromkeys(f.resolve().parent for f in files), CONFIG_DIR]
    for f in _with_includes(files, search):
        if looks_like_run_config(f):
            try:
                check_run_config(read_text(f, MAX_CONFIG_BYTES), f)
            except ConfigError as exc:
                raise ConfigError(f"{exc}. ({f} is read as a run's saved config, as every config.gin and every gin "
                                  "file in a run directory is; a config of your own that needs full gin must have "
                                  "another name, outside run directories.)") from None
    for folder in search:
        gin.add_config_file_search_path(str(folder))
    try:
        gin.parse_config_files_and_bindings([str(f) for f in files], list(gin_params), finalize_config=False)
    except Exception as exc:  # gin raises ValueError/SyntaxError/KeyError with location details in the message
        raise ConfigError(describe(exc)) from exc
    check_bound_types()


def include_order_warning(files: Sequence[Path]) -> str | None:
    """What to say when a shipped include (``include/quick.gin``) is named before a whole config: gin parses files
    in order and later bindings win, so the config's own budget or protocol silently replaces the include's."""
    includes = CONFIG_DIR / "include"
    for i, first in enumerate(files):
        later = [f for f in files[i + 1:] if not f.resolve().is_relative_to(includes)]
        if first.resolve().is_relative_to(includes) and later:
            name = first.resolve().relative_to(CONFIG_DIR).with_suffix("")
            return (f"{name} is given before {later[0].name}: gin files are parsed in order and later bindings "
                    f"win, so {later[0].name}'s own settings replace the ones {name} sets. Give shipped includes "
                    f"last (`polibench run {later[0].stem} {name}`).")
    return None


#: An ``include`` line of a gin file (gin's own syntax: one quoted path).
_INCLUDE = re.compile(r"""^\s*include\s+(['"])(.+?)\1\s*(?:#.*)?$""")


def _with_includes(files: Sequence[Path], search: Sequence[Path]) -> list[Path]:
    """``files`` and every file their ``include`` lines reach, each once, each a regular file of a gin file's size.
    An include resolves as gin resolves it: the path as written (from the working directory), then each folder of
    ``search`` in order; one that resolves nowhere is left for gin to report."""
    seen: dict[Path, None] = {}
    todo = list(files)
    while todo:
        f = todo.pop(0)
        if f.resolve() in seen:
            continue
        check_regular_file(f, MAX_CONFIG_BYTES)
        seen[f.resolve()] = None
        for line in read_text(f, MAX_CONFIG_BYTES).splitlines():
            if match := _INCLUDE.match(line):
                name = match.group(2)
                found = next((c for c in (Path(name), *(d / name for d in search)) if c.is_file()), None)
                if found is not None:
                    todo.append(found)
    return list(seen)


def find_config(name: str | Path) -> Path:
    """The gin file ``name`` means: a file at that path, else a shipped config by name (``act``, ``act.gin``,
    ``include/quick.gin``, or ``gin/act.gin`` as commands wrote it before the configs became package data)."""
    path = Path(name)
    if path.exists() and not path.is_dir():
        return path  # a FIFO or device is refused by the caller's regular-file check, with its reason
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a regular file: name a .gin file in it "
                          f"({', '.join(sorted(p.name for p in path.glob('*.gin'))) or 'it holds none'})")
    text = str(name).removeprefix(SHIPPED_PREFIX)
    shipped = CONFIG_DIR / (text if text.endswith(".gin") else f"{text}.gin")
    if not path.is_absolute() and shipped.is_file():
        return shipped
    raise ConfigError(f"gin file not found: {name} (neither a file nor a shipped config; `polibench configs` lists "
                      f"those).{_closest(str(name), gin_files_near(path))}".rstrip("."))


def shipped_configs() -> dict[str, str]:
    """Each shipped config's name (what ``polibench run NAME`` takes) and the first line of its leading comment."""
    summaries = {}
    for path in sorted(CONFIG_DIR.rglob("*.gin")):
        first = next((ln.lstrip("# ").strip() for ln in path.read_text().splitlines() if ln.startswith("#")), "")
        summaries[str(path.relative_to(CONFIG_DIR).with_suffix(""))] = first
    return summaries


def portable_config_name(gin_file: str | Path, root: Path) -> str:
    """A gin file (or a run directory) as a record names it: ``gin/<name>`` for a shipped config, relative to
    ``root`` inside it (a committed sweep resumes from any checkout location), else absolute."""
    path = (Path(gin_file) if Path(gin_file).exists() else find_config(gin_file)).resolve()
    if path.is_relative_to(CONFIG_DIR):
        return SHIPPED_PREFIX + str(path.relative_to(CONFIG_DIR))
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def looks_like_run_config(path: Path) -> bool:
    """Whether gin file ``path`` may be a run's saved config (so input from elsewhere, parsed only safely)."""
    return path.name == RUN_CONFIG or any((path.parent / marker).exists() for marker in RUN_MARKERS)


def operative_config() -> str:
    return gin.operative_config_str()
