"""The journal's errors, all under moodlens's MoodlensError.

MoodlensError
└── JournalError                 anything the journal cannot do; the message says what to do
    ├── InvalidEntryError        a mood, note, tag, date or setting that cannot be stored
    ├── JournalUnavailableError  the database cannot be reached or answered with an error
    │   └── JournalNotFoundError there is no journal there, and reading does not create one
    ├── JournalReadOnlyError     the journal can be read but not written
    ├── JournalCorruptError      the file is not a (readable) moodlens journal
    └── JournalVersionError      the journal was written by a newer moodlens

Nothing already stored is changed or removed when one of these is raised.
"""

from __future__ import annotations

from moodlens import MoodlensError

__all__ = [
    "InvalidEntryError",
    "JournalCorruptError",
    "JournalError",
    "JournalNotFoundError",
    "JournalReadOnlyError",
    "JournalUnavailableError",
    "JournalVersionError",
]


class JournalError(MoodlensError):
    """Base of the mood journal's errors."""


class InvalidEntryError(JournalError, ValueError):
    """A value the journal will not store (the message says which and why)."""


class JournalUnavailableError(JournalError):
    """The database cannot be reached, or failed while reading or writing."""


class JournalNotFoundError(JournalUnavailableError):
    """There is no journal at that location; only writing creates one."""


class JournalReadOnlyError(JournalError):
    """The journal (file, folder or database role) cannot be written."""


class JournalCorruptError(JournalError):
    """The file is not a readable SQLite database, or not a moodlens journal."""


class JournalVersionError(JournalError):
    """The journal's schema is newer than this moodlens understands."""
