"""The node's runtime stands without the lab: nothing in island/ outside island/lab/ imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ISLAND = Path(__file__).resolve().parent.parent / "island"


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_runtime_never_imports_the_lab():
    runtime = [p for p in ISLAND.rglob("*.py") if "lab" not in p.relative_to(ISLAND).parts]
    assert len(runtime) > 10, "the runtime's modules were not found"
    reaching = {}
    for path in runtime:
        lab = sorted(m for m in _imported_modules(path) if m.split(".")[:2] == ["island", "lab"])
        if lab:
            reaching[str(path.relative_to(ISLAND.parent))] = lab
    assert not reaching
