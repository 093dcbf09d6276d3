"""Summing up a period: the JournalSummary of local days, from the database."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, tzinfo
from types import MappingProxyType

from moodlens import Emotion
from sqlalchemy import select
from sqlalchemy.orm import Session

from ._days import as_date, bound, local_date, local_today
from ._errors import InvalidEntryError
from ._models import EMOTIONS, MoodIntervalRow
from ._queries import entries, scene_mood_changes
from ._streak import streak
from ._summary import DayStats, JournalSummary
from ._values import Entry

__all__ = ["summarize"]


def check_period(start: date, end: date) -> tuple[date, date]:
    """The period as two dates.

    Raises:
        InvalidEntryError: not dates, or ``end`` before ``start``.
    """
    if not isinstance(start, date) or not isinstance(end, date):
        raise InvalidEntryError(f"a summary needs two dates, got {start!r} and {end!r}")
    if isinstance(start, datetime) or isinstance(end, datetime):
        start, end = as_date(start), as_date(end)
    if end < start:
        raise InvalidEntryError(f"the period ends ({end}) before it starts ({start})")
    return start, end


def summarize(s: Session, start: date, end: date, tz: tzinfo | None) -> JournalSummary:
    """The summary of local days ``start`` to ``end``, inclusive.

    Raises:
        InvalidEntryError: ``end`` before ``start``, or not dates.
    """
    start, end = check_period(start, end)
    lo, hi = bound(start, tz, end=False), bound(end, tz, end=True)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    seconds: dict[date, dict[Emotion, float]] = defaultdict(lambda: defaultdict(float))
    sessions: set[int] = set()
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
        seconds[local_date(started, tz)][dominant] += secs
        sessions.add(session_id)
    changes = Counter(local_date(at, tz) for at in scene_mood_changes(s, start, end, tz=tz))
    written = entries(s, start, end, tz=tz)
    total: Counter[Emotion] = Counter()
    for per_day in seconds.values():
        total.update(per_day)
    tracked = sum(total.values())
    share = {e: total[e] / tracked for e in EMOTIONS} if tracked > 0 else {}
    tag_counts = Counter(t for e in written for t in e.tags)
    by_day: dict[date, list[Entry]] = defaultdict(list)
    for e in written:
        by_day[local_date(e.created_at, tz)].append(e)
    return JournalSummary(
        start=start,
        end=end,
        tracked_seconds=tracked,
        emotion_share=MappingProxyType(share),
        dominant=_top(total),
        mood_changes=sum(changes.values()),
        sessions=len(sessions),
        entries=tuple(written),
        mean_mood=_mean(e.mood for e in written),
        tags=tuple(sorted(tag_counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        streak=streak(s, min(end, local_today(tz)), tz),
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


def _mean(values: Iterable[int]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _top(seconds: Mapping[Emotion, float]) -> Emotion | None:
    positive = {e: s for e, s in seconds.items() if s > 0}
    return max(EMOTIONS, key=lambda e: positive.get(e, -1.0)) if positive else None
