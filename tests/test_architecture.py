"""The package's layering, read from its source: module-level imports only, no import cycle among polibench's
modules, and a core that reaches components and the CTM only through the registry and the policy's hooks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "polibench"
#: Modules whose imports may wait inside functions: the CLI imports a verb's module only when that verb runs (so
#: `polibench --help` is quick), and the package's lazy ``polibench.load_policy``.
DEFERRED_OK = {"polibench.cli", "polibench"}
#: Not the core: the built-in components, the CTM, and the figures (which draw CTM internals).
FEATURES = ("polibench.components", "polibench.ctm", "polibench.viz")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imported(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """The polibench modules an import statement loads (a ``from pkg import name`` may name a submodule)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "polibench"]
    base = node.module or ""
    if node.level:  # relative: resolved against the importing module's package
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *filter(None, [base])])
    if base.split(".")[0] != "polibench":
        return []
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def _module_level_imports(module: str) -> set[str]:
    """Every polibench module that importing ``module`` loads directly: its module-level imports (those under
    ``if TYPE_CHECKING`` excluded) and the packages above each, but not the packages above ``module`` itself (a
    package that imports its own modules, as polibench.components does, is no cycle)."""
    tree = ast.parse(MODULES[module].read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else ():
            if isinstance(sub, (ast.Import, ast.ImportFrom)):
                for name in _imported(sub, module):
                    parts = name.split(".")
                    found |= {".".join(parts[:i]) for i in range(2, len(parts) + 1)} & MODULES.keys()
    if module == "polibench.components":  # imports every module below it (pkgutil.walk_packages)
        found |= {m for m in MODULES if m.startswith("polibench.components.")}
    parts = module.split(".")
    return found - {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def _deferred_imports(module: str) -> list[str]:
    """``module``'s imports of polibench modules inside functions and classes."""
    tree = ast.parse(MODULES[module].read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out += [f"{module}:{sub.lineno} {ast.unparse(sub)}" for sub in ast.walk(node)
                    if isinstance(sub, (ast.Import, ast.ImportFrom)) and _imported(sub, module)]
    return out


GRAPH = {m: _module_level_imports(m) for m in MODULES}


def _cycle() -> list[str] | None:
    """One import cycle of GRAPH, as the modules along it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(GRAPH[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        state[m] = 2
        stack.pop()
        return None

    for m in sorted(GRAPH):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_source_parser_sees_the_imports_it_checks():
    assert "polibench.settings" in GRAPH["polibench.api"]
    assert "polibench.ctm.parts" in GRAPH["polibench.components"]  # and the package imports every component
    assert "polibench.components.policy.ctm_act" in GRAPH["polibench.components"]
    assert _deferred_imports("polibench.cli")  # the verbs' modules are imported when a verb runs


def test_no_import_cycle():
    assert _cycle() is None, " -> ".join(_cycle() or [])


@pytest.mark.parametrize("module", sorted(set(MODULES) - DEFERRED_OK))
def test_imports_are_at_module_level(module):
    assert not _deferred_imports(module)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not m.startswith(FEATURES)))
def test_the_core_imports_no_component_and_no_ctm_module(module):
    assert not {n for n in GRAPH[module] if n.startswith(("polibench.components", "polibench.ctm"))}


@pytest.mark.parametrize("module", ["polibench.registry", "polibench.experiment"])
def test_the_core_names_nothing_of_the_ctm(module):
    source = MODULES[module].read_text()
    assert "ctm" not in source.lower(), [line for line in source.splitlines() if "ctm" in line.lower()]
