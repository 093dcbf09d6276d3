"""moodlens_journal: a mood journal in a SQL database, the ``mood-journal`` plugin and its CLI.

The journal keeps what a MoodStream saw (mood per interval and per face, never
images) and what the user writes (a mood from 1 to 5, a note, tags), and shows
it back as day and week summaries, charts and CSV. SQLite in the user's data
folder by default; any SQLAlchemy URL (PostgreSQL with psycopg 3) otherwise.
Needs ``pip install 'moodlens[journal]'``.

Example:
    >>> from datetime import date
    >>> from moodlens_journal import Journal
    >>> journal = Journal()
    >>> journal.add_entry(4, "long walk", tags=["outdoors"])
    >>> print(journal.daily_summary(date.today()).format())
"""

from __future__ import annotations

from . import _deps  # noqa: F401  - first: a missing SQLAlchemy names the pip command
from ._db import ENV_URL, alembic_config, default_journal_path
from ._errors import (
    InvalidEntryError,
    JournalCorruptError,
    JournalError,
    JournalNotFoundError,
    JournalReadOnlyError,
    JournalUnavailableError,
    JournalVersionError,
)
from ._journal import Journal
from ._models import SCHEMA_REVISION
from ._plugin import JournalPlugin
from ._summary import DayStats, JournalSummary
from ._values import MOOD_LABELS, CaptureSession, Entry, MoodInterval, parse_day

__all__ = [
    "ENV_URL",
    "MOOD_LABELS",
    "SCHEMA_REVISION",
    "CaptureSession",
    "DayStats",
    "Entry",
    "InvalidEntryError",
    "Journal",
    "JournalCorruptError",
    "JournalError",
    "JournalNotFoundError",
    "JournalPlugin",
    "JournalReadOnlyError",
    "JournalSummary",
    "JournalUnavailableError",
    "JournalVersionError",
    "MoodInterval",
    "alembic_config",
    "default_journal_path",
    "parse_day",
]
