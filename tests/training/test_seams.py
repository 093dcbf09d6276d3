"""moodlens_training uses only public API of other packages (moodlens, not moodlens._x)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "training" / "moodlens_training"


def _absolute_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_no_private_module_of_another_package_is_imported(path):
    private = {
        name
        for name in _absolute_imports(path)
        if not name.startswith("moodlens_training")
        and any(part.startswith("_") and not part.startswith("__") for part in name.split("."))
    }
    assert private == set(), f"{path.name} imports {private}"
