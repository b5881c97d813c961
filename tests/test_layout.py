"""Where things live: the core layer imports none of its users, the engine and the stack import
nothing of the traffic generator, and the installed packages are exactly the source folders."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each installed package and its folder (pyproject maps secmon.producer to producer/).
PACKAGE_DIRS = {"secmon": ROOT / "secmon", "secmon.producer": ROOT / "producer"}
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


def imports_of(path: Path, module: str) -> set[str]:
    """Every module `path` imports, relative imports resolved, at any depth (late imports count too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


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
