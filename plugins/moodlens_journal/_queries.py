"""Reading the journal: queries that return the public values (entries, sessions,
intervals, mood changes, tags, row counts).

Each function takes an open SQLAlchemy session; ``Journal`` opens it and
translates database errors.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from types import MappingProxyType
from typing import Any

from moodlens import MoodChange
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ._days import DayOrTime, bound
from ._models import (
    CaptureSessionRow,
    EntryRow,
    MoodChangeRow,
    MoodIntervalRow,
    TagRow,
    entry_tags,
)
from ._values import CaptureSession, Entry, MoodInterval, check_tags

__all__ = [
    "capture_sessions",
    "count_scene_mood_changes",
    "entries",
    "intervals",
    "is_scene_mood_change",
    "mood_changes",
    "row_counts",
    "scene_mood_changes",
    "tags",
]


def _between(query: Any, column: Any, lo: datetime | None, hi: datetime | None) -> Any:
    if lo is not None:
        query = query.where(column >= lo)
    if hi is not None:
        query = query.where(column < hi)
    return query


def entries(
    s: Session,
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
    lo, hi = bound(start, tz, end=False), bound(end, tz, end=True)
    query = select(EntryRow).options(selectinload(EntryRow.tags))
    query = _between(query, EntryRow.created_at, lo, hi)
    if tag is not None:
        (name,) = check_tags([tag])
        query = query.where(EntryRow.tags.any(TagRow.name == name))
    return [entry(r) for r in s.scalars(query.order_by(EntryRow.created_at, EntryRow.id))]


def tags(s: Session) -> list[tuple[str, int]]:
    """Every tag with the number of entries that carry it, most used first."""
    query = (
        select(TagRow.name, func.count(entry_tags.c.entry_id))
        .outerjoin(entry_tags, entry_tags.c.tag_id == TagRow.id)
        .group_by(TagRow.name)
    )
    rows = [(name, int(n)) for name, n in s.execute(query)]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def capture_sessions(
    s: Session, start: DayOrTime | None, end: DayOrTime | None, *, tz: tzinfo | None
) -> list[CaptureSession]:
    """Capture sessions that started in the range, oldest first."""
    lo, hi = bound(start, tz, end=False), bound(end, tz, end=True)
    query = _between(select(CaptureSessionRow), CaptureSessionRow.started_at, lo, hi)
    rows = s.scalars(query.order_by(CaptureSessionRow.started_at, CaptureSessionRow.id))
    return [capture_session(r) for r in rows]


def intervals(
    s: Session,
    start: DayOrTime | None,
    end: DayOrTime | None,
    *,
    faces: bool,
    tz: tzinfo | None,
) -> list[MoodInterval]:
    """Mood intervals of the scene (and of every tracked face with ``faces``) that started
    in the range, in time order."""
    lo, hi = bound(start, tz, end=False), bound(end, tz, end=True)
    query = select(MoodIntervalRow)
    if not faces:
        query = query.where(MoodIntervalRow.face_id.is_(None))
    query = _between(query, MoodIntervalRow.started_at, lo, hi).order_by(
        MoodIntervalRow.started_at, MoodIntervalRow.session_id, MoodIntervalRow.id
    )
    return [interval(r) for r in s.scalars(query)]


def is_scene_mood_change() -> Any:
    """The condition of what summaries call a mood change: the scene's steady mood went
    from one mood to another (a first mood settling, or the face leaving, is not one)."""
    return (
        MoodChangeRow.face_id.is_(None)
        & MoodChangeRow.previous.is_not(None)
        & MoodChangeRow.current.is_not(None)
    )


def scene_mood_changes(
    s: Session, start: DayOrTime | None, end: DayOrTime | None, *, tz: tzinfo | None
) -> list[datetime]:
    """When the scene's mood changed from one mood to another, in the range, in order."""
    lo, hi = bound(start, tz, end=False), bound(end, tz, end=True)
    query = select(MoodChangeRow.occurred_at).where(is_scene_mood_change())
    query = _between(query, MoodChangeRow.occurred_at, lo, hi)
    return list(s.scalars(query.order_by(MoodChangeRow.occurred_at)))


def mood_changes(
    s: Session, start: DayOrTime | None, end: DayOrTime | None, *, tz: tzinfo | None
) -> list[tuple[int, MoodChange]]:
    """Every stored mood change (scene and faces) in the range with its capture session's
    id, in time order."""
    lo, hi = bound(start, tz, end=False), bound(end, tz, end=True)
    query = _between(select(MoodChangeRow), MoodChangeRow.occurred_at, lo, hi)
    query = query.order_by(MoodChangeRow.occurred_at, MoodChangeRow.id)
    return [
        (
            c.session_id,
            MoodChange(
                face_id=c.face_id,
                previous=c.previous,
                current=c.current,
                at=c.at,
                wall_time=c.occurred_at,
                confidence=c.confidence,
            ),
        )
        for c in s.scalars(query)
    ]


def count_scene_mood_changes(s: Session) -> int:
    """How many of the stored mood changes summaries count (see is_scene_mood_change)."""
    query = select(func.count()).select_from(MoodChangeRow).where(is_scene_mood_change())
    return int(s.scalar(query) or 0)


def row_counts(s: Session) -> dict[str, int]:
    """How many rows each kind of record has."""
    tables = {
        "sessions": CaptureSessionRow,
        "intervals": MoodIntervalRow,
        "changes": MoodChangeRow,
        "entries": EntryRow,
        "tags": TagRow,
    }
    return {
        name: int(s.scalar(select(func.count()).select_from(model)) or 0)
        for name, model in tables.items()
    }


def entry(row: EntryRow) -> Entry:
    """The public Entry of a row."""
    return Entry(
        id=row.id,
        created_at=row.created_at,
        mood=row.mood,
        note=row.note,
        tags=tuple(sorted(t.name for t in row.tags)),
        device=row.device,
    )


def capture_session(row: CaptureSessionRow) -> CaptureSession:
    """The public CaptureSession of a row."""
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


def interval(row: MoodIntervalRow) -> MoodInterval:
    """The public MoodInterval of a row."""
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
