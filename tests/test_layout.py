"""Where things live: the core layer imports none of its users, the engine and the stack import
nothing of the traffic generator, production nothing of the local engine, no module imports itself
through others, no function is over 60 lines, the CLI is under 600, and the installed packages are
exactly the source folders."""

from __future__ import annotations

import ast
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each installed package and its folder (pyproject maps secmon.producer to producer/).
PACKAGE_DIRS = {"secmon": ROOT / "secmon", "secmon.producer": ROOT / "producer"}
MAX_FUNCTION_LINES = 60
MAX_CLI_LINES = 600  # the CLI parses, calls and prints; rendering is in console.py, logic in the library
# A layer may not import these (prefixes of module names).
FORBIDDEN = {
    "secmon.core": (
        "secmon.engine",
        "secmon.stack",
        "secmon.cli",
        "secmon.producer",
        "secmon.grafana",
        "secmon.demo",
        "secmon.production",
        "secmon.follow",
    ),
    "secmon.engine": ("secmon.producer", "secmon.cli", "secmon.demo", "secmon.production"),
    # Production reaches a deployed stack: the local engine and the embedded servers are not there.
    "secmon.production": (
        "secmon.engine",
        "secmon.stack",
        "secmon.producer",
        "secmon.cli",
        "secmon.demo",
        "secmon.follow",
    ),
    "secmon.stack": ("secmon.producer", "secmon.engine", "secmon.cli"),
    "secmon.producer": ("secmon.engine", "secmon.stack", "secmon.cli", "secmon.grafana"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGE_DIRS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            if not name.startswith("secmon.producer") or package == "secmon.producer":
                found[name] = path
    return found


def _import_statements(path: Path, module: str) -> Iterator[tuple[str, list[str]]]:
    """Each import of `path`, at any depth (late imports count too), as (the module it names, the names
    it takes from it: none for `import x`), relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from ((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base, [alias.name for alias in node.names]


def imports_of(path: Path, module: str) -> set[str]:
    """Every module `path` imports, and every name it takes from one (as module.name)."""
    names = set()
    for base, taken in _import_statements(path, module):
        names.add(base)
        names.update(f"{base}.{name}" for name in taken)
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each module → the modules of `modules` it imports. `from package import submodule` is an edge to
    the submodule alone: Python loads the package first whatever the importer, so counting it too
    would make a circle of every package whose __init__ imports its own submodules."""
    graph = {}
    for module, path in modules.items():
        edges = set()
        for base, taken in _import_statements(path, module):
            submodules = {f"{base}.{name}" for name in taken} & modules.keys()
            edges |= submodules
            if base in modules and len(submodules) < max(len(taken), 1):
                edges.add(base)
        graph[module] = edges - {module}
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        if (module := todo.pop()) not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others, each sorted."""
    reach = {module: _reachable(graph, module) for module in graph}
    circles = {
        tuple(sorted({module} | {other for other in reach[module] if module in reach[other]}))
        for module in graph
        if module in reach[module]
    }
    return sorted(map(list, circles))


def long_functions(modules: dict[str, Path], limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """`module:line name (N lines)` of each function (nested ones too) longer than `limit` lines."""
    return [
        f"{module}:{node.lineno} {node.name} ({length} lines)"
        for module, path in sorted(modules.items())
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (length := node.end_lineno - node.lineno + 1) > limit
    ]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_is_below_it(layer):
    wrong = {}
    for module, path in _modules().items():
        if module == layer or module.startswith(layer + "."):
            bad = sorted(
                name
                for name in imports_of(path, module)
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer])
            )
            if bad:
                wrong[module] = bad
    assert wrong == {}


def test_the_import_check_sees_a_wrong_import(tmp_path):
    wrong = tmp_path / "engine_module.py"
    wrong.write_text("def f():\n    from secmon.producer.generate import plan\n")
    assert "secmon.producer.generate" in imports_of(wrong, "secmon.engine.engine_module")


def test_no_module_imports_itself_through_others():
    assert import_circles(import_graph(_modules())) == []


def test_the_circle_check_sees_a_circle_through_a_package(tmp_path):
    for name, text in {
        "__init__.py": "from secmon.x import a\n",
        "a.py": "from secmon.x import b\n",
        "b.py": "def late():\n    from secmon.x import VALUE\n",
    }.items():
        (tmp_path / name).write_text(text)
    modules = {"secmon.x": tmp_path / "__init__.py", "secmon.x.a": tmp_path / "a.py", "secmon.x.b": tmp_path / "b.py"}
    assert import_circles(import_graph(modules)) == [["secmon.x", "secmon.x.a", "secmon.x.b"]]
    (tmp_path / "b.py").write_text("from secmon.x import a\n")  # a submodule: the package is no edge
    assert import_circles(import_graph(modules)) == [["secmon.x.a", "secmon.x.b"]]
    (tmp_path / "b.py").write_text("import json\n")
    assert import_circles(import_graph(modules)) == []


def test_no_function_is_over_60_lines():
    assert long_functions(_modules()) == []


def test_the_length_check_counts_a_function_from_its_def_to_its_last_line(tmp_path):
    body = "".join(f"    x{n} = {n}\n" for n in range(MAX_FUNCTION_LINES - 1))
    (tmp_path / "fits.py").write_text("def fits():\n" + body)
    (tmp_path / "long.py").write_text(
        "class C:\n    def long(self):\n" + textwrap.indent(body, "    ") + "        y = 1\n"
    )
    modules = {"fits": tmp_path / "fits.py", "long": tmp_path / "long.py"}
    assert long_functions(modules) == [f"long:2 long ({MAX_FUNCTION_LINES + 1} lines)"]


def test_the_cli_is_under_600_lines():
    assert len((ROOT / "secmon" / "cli.py").read_text().splitlines()) < MAX_CLI_LINES


def test_every_source_package_is_installed():
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {module for module, path in _modules().items() if path.name == "__init__.py"}
    assert packages == declared


def test_producer_holds_only_the_traffic_generator():
    """The event contract, Kafka clients, log parsing and tailing live in secmon.core."""
    assert sorted(path.stem for path in (ROOT / "producer").glob("*.py")) == [
        "__init__",
        "attacks",
        "generate",
        "publish",
        "site",
        "traffic",
    ]
