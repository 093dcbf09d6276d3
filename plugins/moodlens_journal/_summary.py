"""Day and week summaries: frozen values, computed by Journal, formatted for people."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from moodlens import Emotion

from ._values import Entry, mood_label

__all__ = ["DayStats", "JournalSummary", "format_duration", "format_share"]

_BAR = 20


def format_duration(seconds: float) -> str:
    """A duration for people: "20 s", "2 min 30 s", "25 min", "1 h 05 min".

    Never "0 min" for something seen: under a minute it counts seconds, and under ten
    minutes it keeps them.
    """
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 10 and rest:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def format_share(share: float) -> str:
    """A share as a percentage, "<1%" for a small one that is not zero."""
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


@dataclass(frozen=True, slots=True)
class DayStats:
    """One local day inside a summary.

    Attributes:
        day: the local date.
        tracked_seconds: time a face was seen (source clock).
        dominant: the emotion seen longest, None when no face was seen.
        mood_changes: changes of the scene's steady mood from one mood to another.
        entries: entries written that day.
        mean_mood: their mean mood (1-5), None without entries.
    """

    day: date
    tracked_seconds: float
    dominant: Emotion | None
    mood_changes: int
    entries: int
    mean_mood: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "tracked_seconds": self.tracked_seconds,
            "dominant": self.dominant.value if self.dominant else None,
            "mood_changes": self.mood_changes,
            "entries": self.entries,
            "mean_mood": self.mean_mood,
        }


@dataclass(frozen=True, slots=True)
class JournalSummary:
    """What the journal holds for a day or a week (local days, inclusive).

    Attributes:
        start: first local day.
        end: last local day (== start for a day).
        tracked_seconds: time a face was seen, on the sources' clocks.
        emotion_share: share of that time per emotion (each interval counts for its
            dominant emotion); empty when no face was seen. Shares sum to 1.
        dominant: the emotion with the largest share, None when no face was seen.
        mood_changes: changes of the scene's steady mood from one mood to another.
        sessions: capture sessions that recorded something in the period.
        entries: the entries written, oldest first.
        mean_mood: mean mood of the entries (1-5), None without entries.
        tags: (tag, entries with it), most used first.
        streak: consecutive days, up to ``end`` (or today, if earlier), with an entry or
            recorded moods (a day without any yet does not break a streak that reaches
            the day before).
        days: one DayStats per local day of the period.
        tz: the time zone of the days; None for the system's.
    """

    start: date
    end: date
    tracked_seconds: float
    emotion_share: Mapping[Emotion, float]
    dominant: Emotion | None
    mood_changes: int
    sessions: int
    entries: tuple[Entry, ...]
    mean_mood: float | None
    tags: tuple[tuple[str, int], ...]
    streak: int
    days: tuple[DayStats, ...]
    tz: tzinfo | None = None

    @property
    def is_empty(self) -> bool:
        """Nothing was seen and nothing written in the period."""
        return not self.tracked_seconds and not self.entries

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "tracked_seconds": self.tracked_seconds,
            "emotion_share": {e.value: s for e, s in self.emotion_share.items()},
            "dominant": self.dominant.value if self.dominant else None,
            "mood_changes": self.mood_changes,
            "sessions": self.sessions,
            "entries": [e.to_dict() for e in self.entries],
            "mean_mood": self.mean_mood,
            "tags": [[t, n] for t, n in self.tags],
            "streak": self.streak,
            "days": [d.to_dict() for d in self.days],
        }

    def format(self) -> str:
        """A short text summary for people (what the CLI and the example print)."""
        if self.start == self.end:
            title = self.start.strftime("%A %Y-%m-%d")
        else:
            title = f"week {self.start.isoformat()} to {self.end.isoformat()}"
        lines = [f"Mood journal, {title}"]
        if self.is_empty:
            lines.append("  nothing recorded yet")
        if self.tracked_seconds:
            sessions = f"{self.sessions} session{'s' if self.sessions != 1 else ''}"
            lines.append(f"  face seen for {format_duration(self.tracked_seconds)} in {sessions}")
            for emotion, share in sorted(self.emotion_share.items(), key=lambda kv: -kv[1]):
                if share <= 0:
                    continue
                filled = int(round(share * _BAR))
                bar = "#" * filled + "." * (_BAR - filled)
                lines.append(f"    {emotion.value:<9} {bar} {format_share(share):>4}")
            changes = f"{self.mood_changes} mood change{'s' if self.mood_changes != 1 else ''}"
            mostly = self.dominant.value if self.dominant else "-"
            lines.append(f"  mostly {mostly}; {changes}")
        if self.entries:
            count = f"{len(self.entries)} entr{'ies' if len(self.entries) != 1 else 'y'}"
            mean = self.mean_mood or 0.0
            lines.append(f"  {count}, mean mood {mean:.1f} ({mood_label(int(round(mean)))})")
            if self.tags:
                lines.append("  tags: " + ", ".join(f"{t} x{n}" for t, n in self.tags))
            if self.start == self.end:
                for e in self.entries:
                    when = e.created_at.astimezone(self.tz).strftime("%H:%M")
                    note = f": {e.note}" if e.note else ""
                    tags = f" [{', '.join(e.tags)}]" if e.tags else ""
                    lines.append(f"    {when} {e.mood} {e.label}{tags}{note}")
        if len(self.days) > 1:
            for d in self.days:
                seen = format_duration(d.tracked_seconds) if d.tracked_seconds else "-"
                mood = f"{d.mean_mood:.1f}" if d.mean_mood is not None else "-"
                dom = d.dominant.value if d.dominant else "-"
                lines.append(
                    f"    {d.day.strftime('%a %m-%d')}  seen {seen:<12} mostly {dom:<9} "
                    f"entries {d.entries}  mood {mood}"
                )
        lines.append(f"  streak: {self.streak} day{'s' if self.streak != 1 else ''}")
        return "\n".join(lines)
