"""gin parsing with the errors a researcher needs: which file, which line, which value, what to do."""

from __future__ import annotations

import ast
import collections.abc
import dataclasses
import importlib.util
import inspect
import logging
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any, Sequence

import gin
from gin.config import ConfigurableReference

from polibench import registry
from polibench.io import check_regular_file, read_text
from polibench.registry import _closest, load_plugins

#: The shipped gin configs (package data), searched for ``include`` lines after the including file's own folder.
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
#: How commands and sweep records name a shipped config: ``gin/act.gin`` is ``CONFIG_DIR / "act.gin"`` (the folder
#: the configs lived in before they became package data; a file of that path in the working directory wins).
SHIPPED_PREFIX = "gin/"
#: A run directory's saved config, and what else a run directory holds (polibench.rundir): a gin file named like
#: the first, or beside any of the others, came from a run, so possibly from elsewhere.
RUN_CONFIG = "config.gin"
RUN_MARKERS = ("run.json", "train_log.jsonl", "checkpoints", "eval", "model.safetensors")
#: The largest gin file read: an operative config is a few kilobytes.
MAX_CONFIG_BYTES = 4 << 20


class _IncludeProbeFilter(logging.Filter):
    """gin logs an ERROR for every search-path miss while resolving an ``include``, even when a later path hits;
    real misses still raise, so these probes are noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.module == "resource_reader" and record.getMessage().startswith("Path not found"))


logging.getLogger().addFilter(_IncludeProbeFilter())


class ConfigError(ValueError):
    """A gin file or binding could not be parsed or names something that does not exist."""


def parse(gin_files: Sequence[str | Path], gin_params: Sequence[str] = ()) -> None:
    """Clear gin, import every component (gin needs them registered first), then parse files and bindings.

    Full gin, for the user's own files, which may import modules. A run directory's saved config.gin comes from
    elsewhere: given here (``polibench run RUN/config.gin`` retrains a shared run), it is checked first by
    :func:`polibench.safe_config.check_run_config`, as loading the run would. What counts as a run's config does
    not hang on one file being there (a shared copy may lack run.json): every file named config.gin, and every gin
    file in a directory holding any of :data:`RUN_MARKERS`.
    """
    from polibench.safe_config import check_run_config

    register_configurables()
    gin.clear_config()
    files = [find_config(f) for f in gin_files]
    for folder in dict.fromkeys(str(f.resolve().parent) for f in files if not f.is_relative_to(CONFIG_DIR)):
        if folder not in sys.path:  # a gin file's own folder is importable from it, as a script's is
            sys.path.append(folder)
    for f in files:
        check_regular_file(f, MAX_CONFIG_BYTES)
        if looks_like_run_config(f):
            try:
                check_run_config(read_text(f, MAX_CONFIG_BYTES), f)
            except ConfigError as exc:
                raise ConfigError(f"{exc}. ({f} is read as a run's saved config, as every config.gin and every gin "
                                  "file in a run directory is; a config of your own that needs full gin must have "
                                  "another name, outside run directories.)") from None
        gin.add_config_file_search_path(str(f.resolve().parent))
    gin.add_config_file_search_path(str(CONFIG_DIR))
    try:
        gin.parse_config_files_and_bindings([str(f) for f in files], list(gin_params), finalize_config=False)
    except Exception as exc:  # gin raises ValueError/SyntaxError/KeyError with location details in the message
        raise ConfigError(describe(exc)) from exc
    check_bound_types()


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
                      f"those).{_closest(str(name), _gin_files_near(path))}".rstrip("."))


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


def register_configurables() -> None:
    """Make every configurable a config may name known to gin: the components and polibench's own settings."""
    load_plugins()
    import polibench.experiment  # noqa: F401 - registers polibench.Experiment, TrainConfig and EvalConfig


def check_bound_types() -> None:
    """Refuse literal values of the wrong type for a parameter's annotation (``TrainConfig.steps = 'sixty'``):
    unchecked, they fail far from the config, inside training, with a TypeError that names neither."""
    for (scope, selector), params in gin.config._CONFIG.items():  # gin has no public reader of raw bindings
        configurable = gin.config._REGISTRY.get_match(selector)
        hints = _type_hints(configurable.wrapped) if configurable else {}
        for name, value in params.items():
            if name in hints and not _accepts(hints[name], value):
                where = f"{scope}/{selector}" if scope else selector
                raise ConfigError(f"{where}.{name} = {value!r}: expected {_type_name(hints[name])}, got "
                                  f"{type(value).__name__}. Fix the binding in the gin file or --gin_param.")


def check_field_types(settings: Any) -> None:
    """The same check for a dataclass of settings built directly, without gin (``TrainConfig(steps='sixty')``)."""
    hints = typing.get_type_hints(type(settings))
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if not _accepts(hints[field.name], value):
            raise ConfigError(f"{type(settings).__name__}.{field.name} = {value!r}: expected "
                              f"{_type_name(hints[field.name])}, got {type(value).__name__}")


def operative_config() -> str:
    return gin.operative_config_str()


def _bindings(text: str) -> dict[str, str]:
    """``name = value`` of an operative config (comments dropped, a value's continuation lines joined)."""
    bindings: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and key is not None:
            bindings[key] += " " + line.strip()
            continue
        key, _, value = line.partition(" = ")
        bindings[key] = value.strip()
    return bindings


def _is_default(key: str, value: str) -> bool:
    """Whether binding ``key = value`` sets a registered parameter to the default its code declares."""
    selector, _, param = key.rpartition(".")
    try:
        declared = inspect.signature(gin.config._REGISTRY.get_match(selector).wrapped).parameters[param].default
        return declared is not inspect.Parameter.empty and ast.literal_eval(value) == declared
    except (KeyError, ValueError, SyntaxError, TypeError, AttributeError):  # unknown name, or not a literal
        return False


def added_defaults(old: str, new: str) -> list[str] | None:
    """The bindings operative config ``new`` adds to ``old`` when every difference is a parameter at its default,
    as when code that gained a parameter resumes a run started before (``old`` could not name it); None when the
    two differ in anything else (a changed or dropped binding, or an added one off its default)."""
    before, after = _bindings(old), _bindings(new)
    if any(after.get(key) != value for key, value in before.items()):
        return None
    added = [f"{key} = {value}" for key, value in after.items() if key not in before]
    return added if all(_is_default(*line.split(" = ", 1)) for line in added) else None


def describe(exc: Exception) -> str:
    """gin's message for a failed parse, with the closest valid name where it names an unknown one."""
    msg = str(exc).strip()
    if isinstance(exc, RecursionError):
        return "the gin config is nested too deeply to parse (brackets within brackets); no config polibench writes is"
    if match := re.search(r"malformed node or string.*?<ast\.\w+ object at 0x[0-9a-f]+>\s*Failed to parse token "
                          r"'(.*?)'", msg, re.S):
        return f"{unquoted(match.group(1))}{msg[match.end():]}"
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"gin syntax error in {exc.filename}, line {exc.lineno}: {exc.msg}\n  {(exc.text or '').rstrip()}"
    hint = ""
    if match := re.search(r"No configurable matching (?:reference )?'@?([\w./]+)", msg):
        name = match.group(1).rsplit("/", 1)[-1]
        kind, _, component = name.rpartition(".")
        if kind in registry.KINDS and component not in registry.names(kind):
            known = registry.names(kind)
            return (f"no module registered {kind} {component!r}.{_closest(name, [f'{kind}.{n}' for n in known])} "
                    f"If it is your own, import the module that registers it: an `import my_module` line at the top "
                    f"of your gin file (a module next to the gin file is importable), or install a package that "
                    f"lists it in the `polibench.components` entry-point group. Registered {kind} components: "
                    f"{', '.join(known)}.\n{msg}")
        hint = (f"\n {_closest(name, configurable_names())} Check the name against `polibench list` (components "
                "are `<kind>.<name>`, e.g. `policy.act`).")
    elif match := re.search(r"Configurable '([\w./]+)' doesn't have a parameter named '(\w+)'", msg):
        hint = f"\n {_closest(match.group(2), parameter_names(match.group(1)))}".rstrip()
    elif match := re.search(r"Unable to open file: (\S+?)\. Searched", msg):
        hint = f"\n {_closest(match.group(1), _gin_files_near(CONFIG_DIR / 'any.gin'))}".rstrip()
    elif isinstance(exc, TypeError) and (shadows := _shadowing_folders()):
        hint = (f"\n  gin resolves `include` lines through Python's import path too, and these folders on it shadow "
                f"gin/'s own: {', '.join(shadows)}. Rename them or run from a directory without them.")
    return f"{msg}{hint}"


def unquoted(token: str) -> str:
    """What to write instead of a bare name where gin expects a value (``steps = sixty``, ``lr = nan``)."""
    if token.lower() in ("nan", "inf", "infinity"):
        return f"unquoted name {token!r}: gin values are Python literals, and NaN or inf is no valid setting"
    return f"unquoted string {token!r}: write '{token}' in quotes (or @{token} for a configurable)"


def configurable_names() -> list[str]:
    """Every name a config may use for a registered configurable: ``policy.act`` and the short ``act``."""
    full = [name for name, _ in gin.config._REGISTRY.items() if not name.startswith("gin.")]
    return sorted({*full, *(name.rsplit(".", 1)[-1] for name in full)})


def parameter_names(selector: str) -> list[str]:
    """The parameters gin can bind on the configurable ``selector`` ([] when it matches none)."""
    configurable = gin.config._REGISTRY.get_match(selector.rsplit("/", 1)[-1])
    return list(inspect.signature(configurable.wrapped).parameters) if configurable else []


def _gin_files_near(path: Path) -> list[str]:
    """gin files a mistyped ``path`` may have meant: those in its folder, and the repository's (as an include
    names them)."""
    near = [str(p) for p in path.parent.glob("*.gin")] if path.parent.is_dir() else []
    return near + [str(p.relative_to(CONFIG_DIR)) for p in CONFIG_DIR.rglob("*.gin")]


def _shadowing_folders() -> list[str]:
    """Folders on sys.path named like a subfolder of gin/: gin's package reader finds them as namespace packages
    (no file origin) and fails with a TypeError instead of trying the next search path."""
    out = []
    for sub in sorted(p.name for p in CONFIG_DIR.iterdir() if p.is_dir()):
        spec = importlib.util.find_spec(sub) if sub.isidentifier() else None
        if spec is not None and spec.origin is None:
            out.extend(str(loc) for loc in spec.submodule_search_locations or [])
    return out


def _type_hints(fn: Any) -> dict[str, Any]:
    """Resolved annotations of a configurable's parameters ({} where they cannot be resolved: nothing to check)."""
    target = inspect.unwrap(fn.__init__ if inspect.isclass(fn) else fn)
    try:
        return typing.get_type_hints(target)
    except Exception:  # an annotation naming something only imported for type checkers
        return {}


def _accepts(hint: Any, value: Any) -> bool:
    """Whether a parsed gin literal fits ``hint``; references, macros and types this check does not know pass."""
    if isinstance(value, ConfigurableReference):
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(arm, value) for arm in args)
    if hint is type(None):
        return value is None
    if hint in (bool, str):
        return isinstance(value, hint)
    if hint in (int, float):
        return isinstance(value, int if hint is int else (int, float)) and not isinstance(value, bool)
    if origin in (tuple, list, collections.abc.Sequence):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(args) == len(value) and all(_accepts(a, v) for a, v in zip(args, value))
        return not args or all(_accepts(args[0], v) for v in value)
    if origin in (dict, collections.abc.Mapping):
        return isinstance(value, dict)
    if origin is typing.Literal:
        return value in args
    return True


def _type_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
