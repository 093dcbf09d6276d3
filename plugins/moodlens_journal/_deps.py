"""SQLAlchemy and Alembic are optional: they load here, and their absence says the pip command."""

from __future__ import annotations

from moodlens._errors import require

_FEATURE = "the mood journal"

# Imported for their side effect: MissingDependencyError with the pip command, before
# any module of this package does `import sqlalchemy`.
require("sqlalchemy", extra="journal", feature=_FEATURE)
require("alembic", extra="journal", feature=_FEATURE)


def require_matplotlib() -> None:
    """Raises MissingDependencyError naming ``pip install 'moodlens[journal]'`` without it.

    Raises:
        MissingDependencyError: matplotlib is not installed.
    """
    require("matplotlib", extra="journal", feature="the mood journal's charts")


def require_platformdirs():  # noqa: ANN201 - a module
    """platformdirs, or MissingDependencyError with the pip command.

    Raises:
        MissingDependencyError: platformdirs is not installed.
    """
    return require("platformdirs", extra="journal", feature=_FEATURE)
