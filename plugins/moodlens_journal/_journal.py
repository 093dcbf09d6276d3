"""Journal: the mood journal database (SQLite by default, any SQLAlchemy URL otherwise).

This module opens the journal and writes entries; reading is in ``_queries``,
summing up in ``_summarize`` and ``_streak``, CSV in ``_csv_export`` and charts
in ``_chart``, each called from here in one database session.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TextIO

from moodlens import MoodChange
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from . import _queries
from ._csv_export import (
    ExportKind,
    changes_table,
    check_kind,
    entries_table,
    moods_table,
    write_csv,
)
from ._days import DayOrTime, local_today
from ._db import create_journal_engine, ensure_schema, resolve_url, sqlite_path, translate_errors
from ._errors import InvalidEntryError, JournalError, JournalReadOnlyError
from ._models import EntryRow, TagRow
from ._streak import streak
from ._summarize import summarize
from ._summary import JournalSummary
from ._values import (
    CaptureSession,
    Entry,
    MoodInterval,
    check_mood,
    check_note,
    check_tags,
    check_when,
)

__all__ = ["Journal"]


class Journal:
    """The mood journal: capture sessions, mood intervals, mood changes and entries.

    Opening a journal creates it (and its folder) when missing, unless ``create`` is
    False, and upgrades an older one in place, keeping every row (a SQLite file is
    first copied next to itself). A new folder is owner-only (0700), and the journal's
    files (the database, its -wal and -shm files, the backups) are made owner-only
    (0600). A journal file that is marked read-only opens for reading only.

    Args:
        url: a SQLAlchemy URL (``postgresql+psycopg://user@host/db``), a file path for
            SQLite, or None for ``$MOODLENS_JOURNAL_URL`` or else ``journal.db`` in the
            user's data folder.
        create: create a missing journal (SQLite file and its folder, or the tables in an
            empty database); otherwise JournalNotFoundError, and nothing is created.
        echo: log every SQL statement (SQLAlchemy's echo).

    Raises:
        JournalNotFoundError: there is no journal there and ``create`` is False.
        JournalCorruptError: the file is not a SQLite database or not a journal.
        JournalReadOnlyError: a new or older journal cannot be written.
        JournalVersionError: the journal was written by a newer moodlens.
        JournalUnavailableError: the database server cannot be reached.
        MissingDependencyError: SQLAlchemy, Alembic or the database driver is missing.

    Example:
        >>> from moodlens_journal import Journal
        >>> with Journal("moods.db") as journal:
        ...     journal.add_entry(4, "long walk", tags=["outdoors"])
        ...     print(journal.daily_summary().format())
    """

    def __init__(
        self,
        url: str | os.PathLike[str] | URL | None = None,
        *,
        create: bool = True,
        echo: bool = False,
    ) -> None:
        self.url: URL = resolve_url(url)
        self._engine, self.read_only = create_journal_engine(self.url, create=create, echo=echo)
        try:
            self.revision: str = ensure_schema(
                self._engine, self.url, read_only=self.read_only, create=create
            )
        except BaseException:
            self._engine.dispose()
            raise
        self._sessionmaker = sessionmaker(self._engine, expire_on_commit=False)
        self.device = socket.gethostname()[:255] or None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def location(self) -> str:
        """Where the journal is: the file path, or the URL without its password."""
        path = sqlite_path(self.url)
        return str(path) if path is not None else self.url.render_as_string(hide_password=True)

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None for a database server."""
        return sqlite_path(self.url)

    def close(self) -> None:
        """Releases the database connections. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._engine.dispose()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal({self.location!r}{', read-only' if self.read_only else ''})"

    @contextlib.contextmanager
    def session(self, doing: str, *, write: bool = False) -> Iterator[Session]:
        """A database session in one transaction, committed on success.

        Raises:
            JournalError: closed journal; JournalReadOnlyError when writing read-only;
                other JournalErrors translated from the database.
        """
        if self._closed:
            raise JournalError("this journal is closed; open a new Journal")
        if write:
            self.check_writable(doing)
        with translate_errors(self.url, doing), self._sessionmaker.begin() as session:
            yield session

    def check_writable(self, doing: str = "writing") -> None:
        """Raises JournalReadOnlyError when the journal was opened read-only.

        Raises:
            JournalReadOnlyError: the file is marked read-only or its folder is not writable.
        """
        if self.read_only:
            raise JournalReadOnlyError(
                f"{doing} failed: the journal {self.location} is read-only (the file is "
                "marked read-only or its folder is not writable); nothing was changed. Make "
                f"it writable (chmod u+w '{self.location}') or use another journal."
            )

    # -- entries ---------------------------------------------------------------------------
    def add_entry(
        self,
        mood: int,
        note: str | None = None,
        tags: Iterable[str] | str = (),
        *,
        at: datetime | None = None,
    ) -> Entry:
        """Writes an entry: a mood on the 1-5 scale, an optional note and tags.

        Args:
            mood: 1 (awful), 2 (bad), 3 (meh), 4 (good) or 5 (great).
            note: free text.
            tags: tags or activities ("outdoors"); lower-cased, duplicates dropped.
            at: when; now by default (a naive datetime is local time).

        Returns:
            The stored entry.

        Raises:
            InvalidEntryError: a mood, note, tag or time that cannot be stored.
            JournalReadOnlyError: the journal cannot be written.
        """
        mood = check_mood(mood)
        note = check_note(note)
        names = check_tags(tags)
        when = check_when(at)
        with self.session("adding an entry", write=True) as s:
            row = EntryRow(created_at=when, mood=mood, note=note, device=self.device)
            row.tags = self._tag_rows(s, names)
            s.add(row)
            s.flush()
            return _queries.entry(row)

    def _tag_rows(self, s: Session, names: tuple[str, ...]) -> list[TagRow]:
        if not names:
            return []
        dialect = s.get_bind().dialect.name
        if dialect in ("sqlite", "postgresql"):
            from sqlalchemy.dialects import postgresql, sqlite

            insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
            # Another process may add the same tag at the same moment.
            rows = [{"name": n} for n in names]
            s.execute(insert(TagRow).values(rows).on_conflict_do_nothing())
        else:
            known = set(s.scalars(select(TagRow.name).where(TagRow.name.in_(names))))
            s.add_all(TagRow(name=n) for n in names if n not in known)
            s.flush()
        return list(s.scalars(select(TagRow).where(TagRow.name.in_(names))))

    def delete_entry(self, entry_id: int) -> None:
        """Deletes one entry (its tags stay for other entries).

        Raises:
            InvalidEntryError: there is no entry with that id.
            JournalReadOnlyError: the journal cannot be written.
        """
        with self.session("deleting an entry", write=True) as s:
            row = s.get(EntryRow, int(entry_id))
            if row is None:
                raise InvalidEntryError(f"there is no entry {entry_id}; list them with `entries`")
            s.delete(row)  # its entry_tags rows go with it

    def entries(
        self,
        start: DayOrTime | None = None,
        end: DayOrTime | None = None,
        *,
        tag: str | None = None,
        tz: tzinfo | None = None,
    ) -> list[Entry]:
        """Entries from ``start`` to ``end`` (dates are whole local days), oldest first.

        Raises:
            InvalidEntryError: a bad tag or bound.
        """
        with self.session("reading entries") as s:
            return _queries.entries(s, start, end, tag=tag, tz=tz)

    def tags(self) -> list[tuple[str, int]]:
        """Every tag with the number of entries that carry it, most used first."""
        with self.session("reading tags") as s:
            return _queries.tags(s)

    # -- what streams recorded ---------------------------------------------------------------
    def sessions(
        self,
        start: DayOrTime | None = None,
        end: DayOrTime | None = None,
        *,
        tz: tzinfo | None = None,
    ) -> list[CaptureSession]:
        """Capture sessions that started in the range, oldest first."""
        with self.session("reading sessions") as s:
            return _queries.capture_sessions(s, start, end, tz=tz)

    def intervals(
        self,
        start: DayOrTime | None = None,
        end: DayOrTime | None = None,
        *,
        faces: bool = False,
        tz: tzinfo | None = None,
    ) -> list[MoodInterval]:
        """Mood intervals of the scene (and of every tracked face with ``faces=True``)."""
        with self.session("reading mood intervals") as s:
            return _queries.intervals(s, start, end, faces=faces, tz=tz)

    def mood_changes(
        self,
        start: DayOrTime | None = None,
        end: DayOrTime | None = None,
        *,
        tz: tzinfo | None = None,
    ) -> list[tuple[int, MoodChange]]:
        """Every stored mood change (the scene's and each face's, a mood settling or a face
        leaving included), with the id of its capture session, oldest first.

        Summaries count only the scene's changes from one mood to another.
        """
        with self.session("reading mood changes") as s:
            return _queries.mood_changes(s, start, end, tz=tz)

    # -- summaries ---------------------------------------------------------------------------
    def daily_summary(self, day: date | None = None, *, tz: tzinfo | None = None) -> JournalSummary:
        """The summary of one local day (today by default)."""
        day = day or local_today(tz)
        return self.summary(day, day, tz=tz)

    def weekly_summary(
        self, day: date | None = None, *, tz: tzinfo | None = None
    ) -> JournalSummary:
        """The summary of the week (Monday to Sunday) holding ``day`` (today by default)."""
        day = day or local_today(tz)
        monday = day - timedelta(days=day.weekday())
        return self.summary(monday, monday + timedelta(days=6), tz=tz)

    def summary(self, start: date, end: date, *, tz: tzinfo | None = None) -> JournalSummary:
        """The summary of local days ``start`` to ``end``, inclusive.

        Raises:
            InvalidEntryError: ``end`` before ``start``, or not dates.
        """
        with self.session("summarising the journal") as s:
            return summarize(s, start, end, tz)

    def streak(self, day: date | None = None, *, tz: tzinfo | None = None) -> int:
        """Consecutive local days up to ``day`` (today) with an entry or recorded moods.

        A day with nothing yet does not break a streak that reaches the day before.
        """
        day = day or local_today(tz)
        with self.session("reading the streak") as s:
            return streak(s, day, tz)

    # -- export and charts -------------------------------------------------------------------
    def export_csv(
        self,
        target: str | os.PathLike[str] | TextIO,
        *,
        what: ExportKind = "entries",
        start: DayOrTime | None = None,
        end: DayOrTime | None = None,
        tz: tzinfo | None = None,
    ) -> int:
        """Writes entries, mood intervals (all faces) or mood changes as CSV.

        A file is written whole or not at all (a temporary file is renamed over it), and
        only its owner can read it. Times are local ISO 8601 with their UTC offset.

        Args:
            target: a file path, or an open text file.
            what: "entries" (mood, note, tags), "moods" (intervals) or "changes".
            start: first day or time; everything when None.
            end: last day (inclusive) or time.
            tz: time zone of the times written; None for the system's.

        Returns:
            The number of data rows written.

        Raises:
            InvalidEntryError: an unknown ``what``.
            JournalError: the target cannot be written.
        """
        check_kind(what)
        with self.session(f"reading {what}") as s:
            if what == "entries":
                table = entries_table(_queries.entries(s, start, end, tz=tz), tz)
            elif what == "moods":
                table = moods_table(_queries.intervals(s, start, end, faces=True, tz=tz), tz)
            else:
                table = changes_table(_queries.mood_changes(s, start, end, tz=tz), tz)
        return write_csv(target, table)

    def save_chart(
        self,
        path: str | os.PathLike[str],
        *,
        day: date | None = None,
        week: date | None = None,
        tz: tzinfo | None = None,
    ) -> Path:
        """Saves a chart of one day (the default: today) or of the week holding ``week``.

        The file's suffix says the format: .png, .pdf, .svg or any other that matplotlib
        writes.

        Raises:
            MissingDependencyError: matplotlib is not installed.
            InvalidEntryError: both ``day`` and ``week`` given, or a suffix matplotlib
                cannot write (the message lists those it can).
            JournalError: the file cannot be written.
        """
        from ._chart import check_chart_path, save_day_chart, save_week_chart

        if day is not None and week is not None:
            raise InvalidEntryError("chart one day or one week, not both")
        target = check_chart_path(path)
        if week is not None:
            summary = self.weekly_summary(week, tz=tz)
            seen = self.intervals(summary.start, summary.end, tz=tz)
            return save_week_chart(summary, seen, target, tz=tz)
        day = day or local_today(tz)
        summary = self.daily_summary(day, tz=tz)
        return save_day_chart(summary, self.intervals(day, day, tz=tz), target, tz=tz)

    def counts(self) -> dict[str, int]:
        """How many rows each kind of record has (for ``moodlens journal info``).

        ``changes`` counts every stored mood change (scene and faces, a mood settling
        and a face leaving included); summaries count fewer (see ``mood_changes``).
        """
        with self.session("counting rows") as s:
            return _queries.row_counts(s)
