"""gin checks and messages shared by every config reader: parameter types, names, and errors a researcher can act on
(which file, which line, which value, what to do). Nothing here parses a file: :mod:`polibench.config` does for the
user's gin files, :mod:`polibench.safe_config` for a run's saved config."""

from __future__ import annotations

import ast
import collections.abc
import dataclasses
import importlib.util
import inspect
import re
import types
import typing
from pathlib import Path
from typing import Any

import gin
from gin.config import ConfigurableReference

from polibench import registry
from polibench.registry import _closest

#: The shipped gin configs (package data), searched for ``include`` lines after the including file's own folder.
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
#: The largest gin file read: an operative config is a few kilobytes.
MAX_CONFIG_BYTES = 4 << 20


class ConfigError(ValueError):
    """A gin file or binding could not be parsed or names something that does not exist."""


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
        if kind in registry.kinds() and component not in registry.names(kind):
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
        hint = f"\n {_closest(match.group(1), gin_files_near(CONFIG_DIR / 'any.gin'))}".rstrip()
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


def gin_files_near(path: Path) -> list[str]:
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


def current_names(text: str) -> str:
    """Operative config ``text`` with every former component name (a registry alias) written as the current one, in
    references (``@pairing.random()``) and binding selectors (``random.seed``, ``pairing.random.seed``)."""
    for alias in registry.aliases():
        old = re.escape(alias.name)
        text = re.sub(rf"(@(?:[\w.]+/)?(?:{alias.kind}\.)?){old}\b", rf"\g<1>{alias.new}", text)
        text = re.sub(rf"^((?:[\w.]+/)?(?:{alias.kind}\.)?){old}(?=\.\w+ = )", rf"\g<1>{alias.new}", text,
                      flags=re.MULTILINE)
    return text


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
    two differ in anything else (a changed or dropped binding, or an added one off its default). A component
    renamed since (``old`` names it by an alias) is no difference."""
    before, after = _bindings(current_names(old)), _bindings(current_names(new))
    if any(after.get(key) != value for key, value in before.items()):
        return None
    added = [f"{key} = {value}" for key, value in after.items() if key not in before]
    return added if all(_is_default(*line.split(" = ", 1)) for line in added) else None
