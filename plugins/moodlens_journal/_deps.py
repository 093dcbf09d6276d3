"""SQLAlchemy, Alembic and matplotlib are optional: they load here, and their absence says
the pip command."""

from __future__ import annotations

import importlib
from types import ModuleType

from moodlens import MissingDependencyError

_FEATURE = "the mood journal"


def _require(module: str, feature: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError(module, "journal", feature) from e


# Imported for their side effect: MissingDependencyError with the pip command, before
# any module of this package does `import sqlalchemy`.
_require("sqlalchemy", _FEATURE)
_require("alembic", _FEATURE)


def require_matplotlib() -> None:
    """Raises MissingDependencyError naming ``pip install 'moodlens[journal]'`` without it.

    Raises:
        MissingDependencyError: matplotlib is not installed.
    """
    _require("matplotlib", "the mood journal's charts")
