"""The package's shape, read from its imports (every ``import``, also those inside functions):
no module imports itself back through others, the value objects sit on the ground floor,
and the edges and the pure core import only downwards (``../shared/DESIGN.md``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nlrp3annot"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports (``from a.b import c`` counts as ``a.b.c`` when
    that is a module, else ``a.b``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m not in (name, "nlrp3annot")}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: _imports(path, name, modules) for name, path in paths.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _below(graph: dict[str, set[str]], package: str, forbidden: tuple[str, ...]) -> list[str]:
    """Imports from modules of ``package`` into any of the ``forbidden`` packages."""
    return sorted(
        f"{m} imports {d}"
        for m, deps in graph.items()
        if m == package or m.startswith(package + ".")
        for d in deps
        if any(d == f or d.startswith(f + ".") for f in forbidden)
    )


def test_the_finder_sees_imports_inside_functions(graph: dict[str, set[str]]) -> None:
    """A guard on the test itself: pipeline imports genome.fetch only inside a function."""
    assert "nlrp3annot.genome.fetch" in graph["nlrp3annot.runner.pipeline"]
    assert len(graph) > 80


def test_no_module_imports_itself_back(graph: dict[str, set[str]]) -> None:
    assert _cycles(graph) == []


def test_values_are_the_ground_floor(graph: dict[str, set[str]]) -> None:
    outside = sorted(
        f"{m} imports {d}"
        for m, deps in graph.items()
        if m.startswith("nlrp3annot.values")
        for d in deps
        if not d.startswith("nlrp3annot.values")
    )
    assert outside == []


def test_io_reads_and_writes_values_without_the_jobs(graph: dict[str, set[str]]) -> None:
    jobs = ("runner", "patients", "naming", "reads", "response", "knowledge", "cli")
    assert _below(graph, "nlrp3annot.io", tuple(f"nlrp3annot.{j}" for j in jobs)) == []


@pytest.mark.parametrize("core", ["naming", "patients"])
def test_the_pure_core_does_not_reach_the_edges(graph: dict[str, set[str]], core: str) -> None:
    edges = ("io", "runner", "reads", "response", "cli")
    assert _below(graph, f"nlrp3annot.{core}", tuple(f"nlrp3annot.{e}" for e in edges)) == []


def _in_cli(module: str) -> bool:
    return module == "nlrp3annot.cli" or module.startswith("nlrp3annot.cli.")


def test_only_the_command_line_sees_argparse() -> None:
    """argparse and its Namespace stay in nlrp3annot/cli: each command turns its arguments
    into typed settings there, and the library below takes those."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        if _in_cli(name):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                modules = [node.module or ""]
            else:
                continue
            found += [f"{name} imports {m}" for m in modules if m.split(".")[0] == "argparse"]
    assert found == []


def test_nothing_below_the_command_line_imports_it(graph: dict[str, set[str]]) -> None:
    callers = sorted(
        f"{m} imports {d}"
        for m, deps in graph.items()
        if not _in_cli(m) and m != "nlrp3annot.__main__"
        for d in deps
        if _in_cli(d)
    )
    assert callers == []


def test_the_command_line_depends_one_way(graph: dict[str, set[str]]) -> None:
    """Inside nlrp3annot/cli: the grammar (options, parser) imports no command, the shared
    helpers (common) import only the grammar, and no command imports the entry point
    (nlrp3annot.cli: main and the exit-code policy)."""
    grammar = {"nlrp3annot.cli.options", "nlrp3annot.cli.parser"}
    wrong = sorted(
        f"{m} imports {d}"
        for m, deps in graph.items()
        if _in_cli(m)
        for d in deps
        if _in_cli(d)
        and (
            (m in grammar and d not in grammar)
            or (m == "nlrp3annot.cli.common" and d not in grammar)
            or (m != "nlrp3annot.cli" and d == "nlrp3annot.cli")
        )
    )
    assert wrong == []
    assert "nlrp3annot.cli.parser" in graph["nlrp3annot.cli"]  # a guard on the rule itself


def test_no_command_module_uses_another_ones_private_helpers() -> None:
    found = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "nlrp3annot.cli"
            ):
                private = [a.name for a in node.names if a.name.startswith("_")]
                found += [f"{path.name} imports {node.module}.{n}" for n in private]
    assert found == []


def test_statistics_do_not_import_the_report(graph: dict[str, set[str]]) -> None:
    assert _below(graph, "nlrp3annot.response.stats", ("nlrp3annot.response.report",)) == []


def test_every_package_is_installed() -> None:
    """pyproject lists the packages by name: one missing installs fine and fails at the
    first import (``pip install .``, not the editable install the tests run from)."""
    import tomllib

    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {_module_name(p) for p in PACKAGE.rglob("__init__.py")}
    assert on_disk - listed == set()
