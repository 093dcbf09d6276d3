"""Every part of the project uses only the public API of the others.

The SDK (``moodlens``), the plugins, training, the exporters, the benchmarks and the
examples may each import their own private modules, but never another package's
(``moodlens._faces``, ``moodlens_journal._models`` ...): what they need is public,
documented and kept stable.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: folder -> the package whose private modules its files may import (None: no package)
PARTS = {
    "sdk/moodlens": "moodlens",
    "plugins/moodlens_journal": "moodlens_journal",
    "plugins/moodlens_spotify": "moodlens_spotify",
    "training/moodlens_training": "moodlens_training",
    "exporters/moodlens_exporters": "moodlens_exporters",
    "benchmarks": None,
    "examples": None,
}
FILES = sorted((part, path) for part in PARTS for path in (ROOT / part).rglob("*.py"))


def _absolute_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _is_private(name: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in name.split("."))


def test_every_part_is_checked():
    assert {part for part, _ in FILES} == set(PARTS)
    assert len(FILES) > 80


@pytest.mark.parametrize(("part", "path"), FILES, ids=[str(p.relative_to(ROOT)) for _, p in FILES])
def test_no_private_module_of_another_package_is_imported(part, path):
    own = PARTS[part]
    private = {
        name
        for name in _absolute_imports(path)
        if name.split(".")[0].startswith("moodlens")
        and name.split(".")[0] != own
        and _is_private(name)
    }
    assert private == set(), f"{path.relative_to(ROOT)} imports {sorted(private)}"


def test_the_check_catches_a_private_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from moodlens._faces import eye_roll\nimport moodlens_journal._models\n")
    names = {n for n in _absolute_imports(bad) if _is_private(n)}
    assert names == {"moodlens._faces", "moodlens._faces.eye_roll", "moodlens_journal._models"}
