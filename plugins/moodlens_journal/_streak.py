"""The streak: consecutive local days with an entry or recorded moods, in one query.

The database returns the distinct quarter hours (UTC) in which something was
written or seen, over the longest streak counted; Python turns them into local
days. Every time zone's offset is a whole number of quarter hours, so a quarter
hour never straddles two local days, and the answer is exact in any zone,
daylight saving included.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

from sqlalchemy import Integer, select, union
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ._days import bound, local_date
from ._models import EntryRow, MoodIntervalRow

__all__ = ["MAX_STREAK", "streak"]

MAX_STREAK = 3660  # days: ten years
_QUARTER = 900  # seconds


class _quarter_hour(FunctionElement[int]):  # noqa: N801 - an SQL function
    """The UTC quarter hour of a timestamp: floor(seconds since 1970 / 900)."""

    type = Integer()
    name = "quarter_hour"
    inherit_cache = True


@compiles(_quarter_hour, "sqlite")
def _quarter_sqlite(element: _quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    # The journal keeps naive UTC text in SQLite: strftime reads it as UTC.
    return f"(CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER) / 900)"


@compiles(_quarter_hour, "mysql")
@compiles(_quarter_hour, "mariadb")
def _quarter_mysql(element: _quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"FLOOR(UNIX_TIMESTAMP({compiler.process(element.clauses, **kw)}) / 900)"


@compiles(_quarter_hour)
def _quarter_standard(element: _quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL and the SQL standard: seconds since 1970 of a timestamp with time zone.
    moment = compiler.process(element.clauses, **kw)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {moment}) / 900) AS INTEGER)"


def active_days(s: Session, first: date, last: date, tz: tzinfo | None) -> set[date]:
    """The local days from ``first`` to ``last`` with an entry or a scene interval."""
    lo, hi = bound(first, tz, end=False), bound(last, tz, end=True)
    wrote = select(_quarter_hour(EntryRow.created_at)).where(
        EntryRow.created_at >= lo, EntryRow.created_at < hi
    )
    seen = select(_quarter_hour(MoodIntervalRow.started_at)).where(
        MoodIntervalRow.face_id.is_(None),
        MoodIntervalRow.started_at >= lo,
        MoodIntervalRow.started_at < hi,
    )
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    quarters = s.scalars(union(wrote, seen))
    return {local_date(epoch + timedelta(seconds=int(q) * _QUARTER), tz) for q in quarters}


def streak(s: Session, day: date, tz: tzinfo | None) -> int:
    """Consecutive local days up to ``day`` with an entry or recorded moods.

    A day with nothing yet does not break a streak that reaches the day before.
    """
    active = active_days(s, day - timedelta(days=MAX_STREAK), day, tz)
    if day not in active:
        day -= timedelta(days=1)
    count = 0
    while count < MAX_STREAK and day in active:
        count += 1
        day -= timedelta(days=1)
    return count
