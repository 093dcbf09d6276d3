"""Journal: the mood journal database (SQLite by default, any SQLAlchemy URL otherwise)."""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import socket
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TextIO

from moodlens import Emotion
from sqlalchemy import exists, func, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, selectinload, sessionmaker

from ._db import create_journal_engine, ensure_schema, resolve_url, sqlite_path, translate_errors
from ._errors import InvalidEntryError, JournalError, JournalReadOnlyError
from ._models import (
    EMOTIONS,
    CaptureSessionRow,
    EntryRow,
    MoodChangeRow,
    MoodIntervalRow,
    TagRow,
)
from ._summary import DayStats, JournalSummary
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

logger = logging.getLogger(__name__)

DayOrTime = date | datetime
ExportKind = Literal["entries", "moods", "changes"]
_MAX_STREAK = 3660


def local_today(tz: tzinfo | None = None) -> date:
    """Today in ``tz`` (None: the system's time zone)."""
    return datetime.now(timezone.utc).astimezone(tz).date()


def local_midnight(day: date, tz: tzinfo | None = None) -> datetime:
    """The start of a local day as an aware datetime (DST-correct for the system zone)."""
    if tz is None:
        return datetime.combine(day, time()).astimezone()  # naive = system local time
    return datetime.combine(day, time(), tzinfo=tz)


def _bound(value: DayOrTime | None, tz: tzinfo | None, *, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        day = value + timedelta(days=1) if end else value
        return local_midnight(day, tz).astimezone(timezone.utc)
    raise InvalidEntryError(f"expected a date or a datetime, got {value!r}")


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
            return _entry(row)

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
        lo, hi = _bound(start, tz, end=False), _bound(end, tz, end=True)
        query = select(EntryRow).options(selectinload(EntryRow.tags))
        if lo is not None:
            query = query.where(EntryRow.created_at >= lo)
        if hi is not None:
            query = query.where(EntryRow.created_at < hi)
        if tag is not None:
            (name,) = check_tags([tag])
            query = query.where(EntryRow.tags.any(TagRow.name == name))
        with self.session("reading entries") as s:
            return [_entry(r) for r in s.scalars(query.order_by(EntryRow.created_at, EntryRow.id))]

    def tags(self) -> list[tuple[str, int]]:
        """Every tag with the number of entries that carry it, most used first."""
        from ._models import entry_tags

        query = (
            select(TagRow.name, func.count(entry_tags.c.entry_id))
            .outerjoin(entry_tags, entry_tags.c.tag_id == TagRow.id)
            .group_by(TagRow.name)
        )
        with self.session("reading tags") as s:
            rows = [(name, int(n)) for name, n in s.execute(query)]
        return sorted(rows, key=lambda r: (-r[1], r[0]))

    # -- what streams recorded ---------------------------------------------------------------
    def sessions(
        self,
        start: DayOrTime | None = None,
        end: DayOrTime | None = None,
        *,
        tz: tzinfo | None = None,
    ) -> list[CaptureSession]:
        """Capture sessions that started in the range, oldest first."""
        lo, hi = _bound(start, tz, end=False), _bound(end, tz, end=True)
        query = select(CaptureSessionRow)
        if lo is not None:
            query = query.where(CaptureSessionRow.started_at >= lo)
        if hi is not None:
            query = query.where(CaptureSessionRow.started_at < hi)
        with self.session("reading sessions") as s:
            rows = s.scalars(query.order_by(CaptureSessionRow.started_at, CaptureSessionRow.id))
            return [_capture_session(r) for r in rows]

    def intervals(
        self,
        start: DayOrTime | None = None,
        end: DayOrTime | None = None,
        *,
        faces: bool = False,
        tz: tzinfo | None = None,
    ) -> list[MoodInterval]:
        """Mood intervals of the scene (and of every tracked face with ``faces=True``)."""
        query = self._interval_query(start, end, faces=faces, tz=tz)
        with self.session("reading mood intervals") as s:
            return [_interval(r) for r in s.scalars(query)]

    def _interval_query(
        self, start: DayOrTime | None, end: DayOrTime | None, *, faces: bool, tz: tzinfo | None
    ) -> Any:
        lo, hi = _bound(start, tz, end=False), _bound(end, tz, end=True)
        query = select(MoodIntervalRow)
        if not faces:
            query = query.where(MoodIntervalRow.face_id.is_(None))
        if lo is not None:
            query = query.where(MoodIntervalRow.started_at >= lo)
        if hi is not None:
            query = query.where(MoodIntervalRow.started_at < hi)
        return query.order_by(
            MoodIntervalRow.started_at, MoodIntervalRow.session_id, MoodIntervalRow.id
        )

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
        if not isinstance(start, date) or not isinstance(end, date):
            raise InvalidEntryError(f"a summary needs two dates, got {start!r} and {end!r}")
        if isinstance(start, datetime) or isinstance(end, datetime):
            start, end = _as_date(start), _as_date(end)
        if end < start:
            raise InvalidEntryError(f"the period ends ({end}) before it starts ({start})")
        lo, hi = _bound(start, tz, end=False), _bound(end, tz, end=True)
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        seconds: dict[date, dict[Emotion, float]] = defaultdict(lambda: defaultdict(float))
        changes: Counter[date] = Counter()
        sessions: set[int] = set()
        with self.session("summarising the journal") as s:
            scene = s.execute(
                select(
                    MoodIntervalRow.started_at,
                    MoodIntervalRow.seconds,
                    MoodIntervalRow.dominant,
                    MoodIntervalRow.session_id,
                ).where(
                    MoodIntervalRow.face_id.is_(None),
                    MoodIntervalRow.started_at >= lo,
                    MoodIntervalRow.started_at < hi,
                )
            )
            for started, secs, dominant, session_id in scene:
                seconds[started.astimezone(tz).date()][dominant] += secs
                sessions.add(session_id)
            changed = s.scalars(
                select(MoodChangeRow.occurred_at).where(
                    MoodChangeRow.face_id.is_(None),
                    MoodChangeRow.previous.is_not(None),
                    MoodChangeRow.current.is_not(None),
                    MoodChangeRow.occurred_at >= lo,
                    MoodChangeRow.occurred_at < hi,
                )
            )
            for at in changed:
                changes[at.astimezone(tz).date()] += 1
            rows = s.scalars(
                select(EntryRow)
                .options(selectinload(EntryRow.tags))
                .where(EntryRow.created_at >= lo, EntryRow.created_at < hi)
                .order_by(EntryRow.created_at, EntryRow.id)
            )
            entries = tuple(_entry(r) for r in rows)
            streak = self._streak(s, min(end, local_today(tz)), tz)
        total: Counter[Emotion] = Counter()
        for per_day in seconds.values():
            total.update(per_day)
        tracked = sum(total.values())
        share = {e: total[e] / tracked for e in EMOTIONS} if tracked > 0 else {}
        tag_counts = Counter(t for e in entries for t in e.tags)
        by_day: dict[date, list[Entry]] = defaultdict(list)
        for e in entries:
            by_day[e.created_at.astimezone(tz).date()].append(e)
        return JournalSummary(
            start=start,
            end=end,
            tracked_seconds=tracked,
            emotion_share=MappingProxyType(share),
            dominant=_top(total),
            mood_changes=sum(changes.values()),
            sessions=len(sessions),
            entries=entries,
            mean_mood=_mean(e.mood for e in entries),
            tags=tuple(sorted(tag_counts.items(), key=lambda kv: (-kv[1], kv[0]))),
            streak=streak,
            days=tuple(
                DayStats(
                    day=d,
                    tracked_seconds=sum(seconds[d].values()),
                    dominant=_top(seconds[d]),
                    mood_changes=changes[d],
                    entries=len(by_day[d]),
                    mean_mood=_mean(e.mood for e in by_day[d]),
                )
                for d in days
            ),
            tz=tz,
        )

    def streak(self, day: date | None = None, *, tz: tzinfo | None = None) -> int:
        """Consecutive local days up to ``day`` (today) with an entry or recorded moods.

        A day with nothing yet does not break a streak that reaches the day before.
        """
        day = day or local_today(tz)
        with self.session("reading the streak") as s:
            return self._streak(s, day, tz)

    def _streak(self, s: Session, day: date, tz: tzinfo | None) -> int:
        def active(d: date) -> bool:
            lo, hi = _bound(d, tz, end=False), _bound(d, tz, end=True)
            wrote = exists().where(EntryRow.created_at >= lo, EntryRow.created_at < hi)
            seen = exists().where(
                MoodIntervalRow.face_id.is_(None),
                MoodIntervalRow.started_at >= lo,
                MoodIntervalRow.started_at < hi,
            )
            return bool(s.scalar(select(wrote | seen)))

        if not active(day):
            day -= timedelta(days=1)
        count = 0
        while count < _MAX_STREAK and active(day):
            count += 1
            day -= timedelta(days=1)
        return count

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

        A file is written whole or not at all (a temporary file is renamed over it).
        Times are local ISO 8601 with their UTC offset.

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
        header, rows = self._export_rows(what, start, end, tz)
        if not isinstance(target, (str, os.PathLike)):
            _write_csv(target, header, rows)
            return len(rows)
        path = Path(target).expanduser()
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
                _write_csv(f, header, rows)
            os.replace(tmp, path)
        except OSError as e:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)
            raise JournalError(
                f"cannot write {path} ({e.strerror or e}); choose another file"
            ) from e
        return len(rows)

    def _export_rows(
        self, what: str, start: DayOrTime | None, end: DayOrTime | None, tz: tzinfo | None
    ) -> tuple[list[str], list[list[Any]]]:
        def iso(dt: datetime) -> str:
            return dt.astimezone(tz).isoformat(timespec="seconds")

        if what == "entries":
            header = ["id", "time", "mood", "label", "note", "tags", "device"]
            rows: list[list[Any]] = [
                [
                    e.id,
                    iso(e.created_at),
                    e.mood,
                    e.label,
                    e.note or "",
                    ";".join(e.tags),
                    e.device or "",
                ]
                for e in self.entries(start, end, tz=tz)
            ]
            return header, rows
        if what == "moods":
            header = ["session", "face", "start", "end", "seconds", "frames", "dominant"]
            header += [e.value for e in EMOTIONS]
            rows = [
                [
                    i.session_id,
                    "scene" if i.face_id is None else i.face_id,
                    iso(i.started_at),
                    iso(i.ended_at),
                    round(i.seconds, 3),
                    i.frames,
                    i.dominant.value,
                ]
                + [round(i.scores[e], 6) for e in EMOTIONS]
                for i in self.intervals(start, end, faces=True, tz=tz)
            ]
            return header, rows
        if what == "changes":
            lo, hi = _bound(start, tz, end=False), _bound(end, tz, end=True)
            query = select(MoodChangeRow)
            if lo is not None:
                query = query.where(MoodChangeRow.occurred_at >= lo)
            if hi is not None:
                query = query.where(MoodChangeRow.occurred_at < hi)
            query = query.order_by(MoodChangeRow.occurred_at, MoodChangeRow.id)
            header = ["session", "face", "time", "previous", "current", "confidence"]
            with self.session("reading mood changes") as s:
                rows = [
                    [
                        c.session_id,
                        "scene" if c.face_id is None else c.face_id,
                        iso(c.occurred_at),
                        c.previous.value if c.previous else "",
                        c.current.value if c.current else "",
                        round(c.confidence, 6),
                    ]
                    for c in s.scalars(query)
                ]
            return header, rows
        raise InvalidEntryError(f"cannot export {what!r}; choose entries, moods or changes")

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
        path = check_chart_path(path)
        if week is not None:
            return save_week_chart(self, self.weekly_summary(week, tz=tz), Path(path), tz=tz)
        return save_day_chart(self, day or local_today(tz), Path(path), tz=tz)

    def counts(self) -> dict[str, int]:
        """How many rows each kind of record has (for `moodlens journal info`)."""
        tables = {
            "sessions": CaptureSessionRow,
            "intervals": MoodIntervalRow,
            "changes": MoodChangeRow,
            "entries": EntryRow,
            "tags": TagRow,
        }
        with self.session("counting rows") as s:
            return {
                name: int(s.scalar(select(func.count()).select_from(model)) or 0)
                for name, model in tables.items()
            }


def _write_csv(f: TextIO, header: list[str], rows: list[list[Any]]) -> None:
    writer = csv.writer(f)
    writer.writerow(header)
    writer.writerows(rows)


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _mean(values: Iterable[int]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _top(seconds: Mapping[Emotion, float]) -> Emotion | None:
    positive = {e: s for e, s in seconds.items() if s > 0}
    return max(EMOTIONS, key=lambda e: positive.get(e, -1.0)) if positive else None


def _entry(row: EntryRow) -> Entry:
    return Entry(
        id=row.id,
        created_at=row.created_at,
        mood=row.mood,
        note=row.note,
        tags=tuple(sorted(t.name for t in row.tags)),
        device=row.device,
    )


def _capture_session(row: CaptureSessionRow) -> CaptureSession:
    return CaptureSession(
        id=row.id,
        source=row.source,
        device=row.device,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        stop_reason=row.stop_reason,
        fps=row.fps,
        frames=row.frames,
    )


def _interval(row: MoodIntervalRow) -> MoodInterval:
    return MoodInterval(
        session_id=row.session_id,
        face_id=row.face_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        seconds=row.seconds,
        frames=row.frames,
        dominant=row.dominant,
        scores=MappingProxyType(row.scores),
    )
