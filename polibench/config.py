"""gin parsing with the errors a researcher needs: which file, which line, what to do."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Sequence

import gin

from polibench.registry import load_plugins

#: The repository's gin folder, searched for ``include`` lines after the including file's own folder.
GIN_DIR = Path(__file__).resolve().parent.parent / "gin"


class _IncludeProbeFilter(logging.Filter):
    """gin logs an ERROR for every search-path miss while resolving an ``include``, even when a later path hits;
    real misses still raise, so these probes are noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.module == "resource_reader" and record.getMessage().startswith("Path not found"))


logging.getLogger().addFilter(_IncludeProbeFilter())


class ConfigError(ValueError):
    """A gin file or binding could not be parsed or names something that does not exist."""


def parse(gin_files: Sequence[str | Path], gin_params: Sequence[str] = ()) -> None:
    """Clear gin, import every component (gin needs them registered first), then parse files and bindings."""
    load_plugins()
    gin.clear_config()
    files = [Path(f) for f in gin_files]
    for f in files:
        if not f.exists():
            raise ConfigError(f"gin file not found: {f}")
        gin.add_config_file_search_path(str(f.resolve().parent))
    gin.add_config_file_search_path(str(GIN_DIR))
    try:
        gin.parse_config_files_and_bindings([str(f) for f in files], list(gin_params), finalize_config=False)
    except Exception as exc:  # gin raises ValueError/SyntaxError/KeyError with location details in the message
        raise ConfigError(f"{_describe(exc)}") from exc


def parse_string(text: str, gin_params: Sequence[str] = ()) -> None:
    """Parse a saved operative config (e.g. a run directory's config.gin), then extra bindings over it."""
    load_plugins()
    gin.clear_config()
    try:
        gin.parse_config(text)
        gin.parse_config(list(gin_params))
    except Exception as exc:
        raise ConfigError(_describe(exc)) from exc


def _describe(exc: Exception) -> str:
    msg = str(exc).strip()
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"gin syntax error in {exc.filename}, line {exc.lineno}: {exc.msg}\n  {(exc.text or '').rstrip()}"
    hint = ""
    if "No configurable matching" in msg:
        hint = "\n  Check the name against `polibench list` (components are `<kind>.<name>`, e.g. `policy.act`)."
    elif isinstance(exc, TypeError) and (shadows := _shadowing_folders()):
        hint = (f"\n  gin resolves `include` lines through Python's import path too, and these folders on it shadow "
                f"gin/'s own: {', '.join(shadows)}. Rename them or run from a directory without them.")
    return f"{msg}{hint}"


def _shadowing_folders() -> list[str]:
    """Folders on sys.path named like a subfolder of gin/: gin's package reader finds them as namespace packages
    (no file origin) and fails with a TypeError instead of trying the next search path."""
    out = []
    for sub in sorted(p.name for p in GIN_DIR.iterdir() if p.is_dir()):
        spec = importlib.util.find_spec(sub) if sub.isidentifier() else None
        if spec is not None and spec.origin is None:
            out.extend(str(loc) for loc in spec.submodule_search_locations or [])
    return out


def operative_config() -> str:
    return gin.operative_config_str()
