"""A run directory's config.gin, read without letting the file run anything.

Run directories travel between researchers, so their config.gin is input from elsewhere, and full gin would
execute it: ``import`` lines import any module, ``from __gin__ import dynamic_registration`` makes any importable
function (``subprocess.run``) configurable, and ``@fn()`` calls it when the policy is built. So every statement is
checked before gin sees the text: bindings of configurables polibench registered (its components, Experiment,
TrainConfig, EvalConfig) with parameters they have, macros, and references to those configurables, nothing else.
Anything else is refused with the line it is on. The user's own gin files, passed to `polibench run`, keep full gin
(:func:`polibench.config.parse`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence

import gin
from gin import config_parser

from polibench import registry
from polibench.gin_check import MAX_CONFIG_BYTES, ConfigError, check_bound_types, describe, parameter_names
from polibench.io import read_text
from polibench.registry import _closest
from polibench.settings import SETTINGS, register_configurables


class _Reference:
    """A parsed ``@name`` or ``@name()``, kept as text: nothing is looked up or called while checking."""

    def __init__(self, name: str, evaluate: bool) -> None:
        self.name, self.evaluate = name, evaluate


class _Delegate(config_parser.ParserDelegate):
    def configurable_reference(self, scoped_configurable_name: str, evaluate: bool) -> _Reference:
        return _Reference(scoped_configurable_name, evaluate)

    def macro(self, macro_name: str) -> None:
        return None  # a macro only stands for a value bound elsewhere in the file, and that binding is checked


def parse_run_config(path: Path, gin_params: Sequence[str] = ()) -> str:
    """Clear gin and parse the run's saved config ``path`` once :func:`check_run_config` passes, then
    ``gin_params`` (the caller's own bindings, trusted like a command line); returns the text parsed."""
    text = read_run_config(path)
    gin.clear_config()
    for bindings, source in ((text, f"{path}: "), (list(gin_params), "")):
        try:
            gin.parse_config(bindings)
        except Exception as exc:  # gin names the binding; which file (or the caller's gin_params) is ours to say
            raise ConfigError(f"{source}{describe(exc)}") from exc
    check_bound_types()
    return text


def read_run_config(path: Path) -> str:
    """The text of a run's config.gin, checked by :func:`check_run_config`."""
    path = Path(path)
    try:
        text = read_text(path, MAX_CONFIG_BYTES)
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text file, so not a gin config") from None
    check_run_config(text, path)
    return text


def check_run_config(text: str, path: Path) -> None:
    """Refuse (ConfigError naming ``path`` and the line) any statement of ``text`` that is not a binding of a
    registered polibench configurable's parameter or a macro, or that references anything else."""
    register_configurables()
    allowed = _allowed_configurables()
    try:
        statements = list(config_parser.ConfigParser(io.StringIO(text), _Delegate()))
    except SyntaxError as exc:
        raise ConfigError(f"{path}, line {exc.lineno}: gin syntax error: {exc.msg}") from None
    except ValueError as exc:  # a malformed selector, or a bare name where a value belongs
        raise ConfigError(f"{path}: {describe(exc)}") from None
    except RecursionError as exc:
        raise ConfigError(f"{path}: {describe(exc)}") from None
    for statement in statements:
        line = statement.location.line_num
        here = f"{path}, line {line}: `{statement.location.line_content.strip()}`"
        if isinstance(statement, config_parser.ImportStatement):
            raise ConfigError(f"{here}: a run's config.gin may not import modules (loading a run only binds "
                              "polibench's registered components); a config.gin written by `polibench run` has none")
        if isinstance(statement, config_parser.IncludeStatement):
            raise ConfigError(f"{here}: a run's config.gin may not include other files; a config.gin written by "
                              "`polibench run` is complete without them")
        if isinstance(statement, config_parser.BlockDeclaration):
            _check_configurable(statement.selector, allowed, here)
        elif isinstance(statement, config_parser.BindingStatement):
            if statement.arg_name:  # ``selector.param = value``; a macro definition (``NAME = value``) has none
                selector = _check_configurable(statement.selector, allowed, here)
                _check_parameter(selector, statement.arg_name, here)
            _check_value(statement.value, allowed, here)


def _allowed_configurables() -> list[Any]:
    """The configurables a run's config may name: every registered component, by its current or a former name
    (configs saved before a rename name it so), and polibench's own settings."""
    return [entry.obj for entry in registry.entries()] + [alias.obj for alias in registry.aliases()] + list(SETTINGS)


def _check_configurable(selector: str, allowed: list[Any], here: str) -> str:
    """The complete selector of ``selector``, if it names an allowed configurable; else a ConfigError."""
    try:
        configurable = gin.config._REGISTRY.get_match(selector)
    except ValueError as exc:  # ambiguous: several configurables end with this name
        raise ConfigError(f"{here}: {exc}") from None
    if configurable is None:
        names = [n for n, c in gin.config._REGISTRY.items() if any(c.wrapper is a for a in allowed)]
        raise ConfigError(f"{here}: no polibench configurable is called {selector!r}."
                          f"{_closest(selector, names + [n.rsplit('.', 1)[-1] for n in names])}")
    if not any(configurable.wrapper is c for c in allowed):
        raise ConfigError(f"{here}: {configurable.selector} is not a polibench component or setting, and a run's "
                          "config.gin may bind nothing else")
    return configurable.selector


def _check_parameter(selector: str, name: str, here: str) -> None:
    known = parameter_names(selector)
    if name not in known:
        raise ConfigError(f"{here}: {selector} has no parameter {name!r}.{_closest(name, known)}")


def _check_value(value: Any, allowed: list[Any], here: str) -> None:
    """References anywhere inside a value (lists, tuples, dict keys and values) must name allowed configurables."""
    if isinstance(value, _Reference):
        _check_configurable(value.name.rsplit("/", 1)[-1], allowed, here)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_value(key, allowed, here)
            _check_value(item, allowed, here)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_value(item, allowed, here)
