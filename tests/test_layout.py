"""The house layout: data flows one way, so nothing imports from a folder to its right."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parent.parent / "engine"
# Left to right, as README "Layout" draws it; modules at one level may import each other.
FLOW = ["diagnostics", "vocabulary", "language", "policy", "check", "runtime", "backends", "files", "tools",
        "api", "cli"]  # fmt: skip


def _level(module: str) -> int:
    """The position of engine.<first>… in the flow; `engine` itself (the package: load, Policy) is the API."""
    parts = module.split(".")
    if parts[0] != "engine":
        return -1
    if len(parts) == 1:
        return FLOW.index("api")
    return FLOW.index(parts[1])


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


MODULES = sorted(p for p in ENGINE.rglob("*.py") if p.name != "__init__.py" or p.parent != ENGINE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_nothing_imports_from_a_folder_to_its_right(path: Path):
    own = _level("engine." + ".".join(path.relative_to(ENGINE).with_suffix("").parts))
    wrong = [f"{line}: {module}" for line, module in _imports(path) if _level(module) > own]
    assert wrong == [], f"{path.relative_to(ENGINE)} imports from its right"


def test_the_layout_knows_every_folder():
    # A new folder must take its place in FLOW (and in README's Layout) before it is used.
    tops = {p.relative_to(ENGINE).parts[0].removesuffix(".py") for p in ENGINE.rglob("*.py")}
    assert tops - {"__init__"} <= set(FLOW)
