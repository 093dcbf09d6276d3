"""Public values the journal returns: entries, sessions, intervals, and checks on user input."""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

from moodlens import Emotion

from ._errors import InvalidEntryError

__all__ = [
    "MOOD_LABELS",
    "CaptureSession",
    "Entry",
    "MoodInterval",
    "mood_label",
    "parse_day",
]

# The 5-point scale of mood-tracking apps, worst to best.
MOOD_LABELS: Mapping[int, str] = MappingProxyType(
    {1: "awful", 2: "bad", 3: "meh", 4: "good", 5: "great"}
)
MAX_NOTE = 10_000
MAX_TAG = 64
MAX_TAGS = 32
_SPACES = re.compile(r"\s+")


def mood_label(mood: int) -> str:
    """The word for a mood on the 1-5 scale ("good" for 4)."""
    return MOOD_LABELS[mood]


def check_mood(value: Any) -> int:
    """A mood on the 1-5 scale from an int or a string of digits.

    Raises:
        InvalidEntryError: anything else (the message gives the scale).
    """
    mood: int | None = None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        mood = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        mood = int(value.strip())
    if mood is None or not 1 <= mood <= 5:
        scale = ", ".join(f"{k} {v}" for k, v in MOOD_LABELS.items())
        raise InvalidEntryError(f"mood must be a whole number from 1 to 5 ({scale}); got {value!r}")
    return mood


def _check_text(text: str, what: str) -> None:
    if "\x00" in text:
        raise InvalidEntryError(f"the {what} contains a NUL character (\\x00); remove it")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEntryError(
            f"the {what} is not valid Unicode text (it has a lone surrogate); re-type it"
        ) from None


def check_note(note: Any) -> str | None:
    """The note, stripped; None when empty.

    Raises:
        InvalidEntryError: not text, too long, or with characters no database stores.
    """
    if note is None:
        return None
    if not isinstance(note, str):
        raise InvalidEntryError(f"a note must be text, got {type(note).__name__}")
    _check_text(note, "note")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidEntryError(f"the note has {len(note)} characters; keep it under {MAX_NOTE}")
    return note or None


def check_tags(tags: Iterable[Any] | str | None) -> tuple[str, ...]:
    """Tags lower-cased, inner spaces collapsed, duplicates dropped, in the order given.

    Raises:
        InvalidEntryError: a tag that is empty, too long, not text, or too many tags.
    """
    if tags is None:
        return ()
    if isinstance(tags, str):
        tags = [tags]
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise InvalidEntryError(f"a tag must be text, got {tag!r}")
        _check_text(tag, f"tag {tag!r}")
        clean = _SPACES.sub(" ", tag).strip().lower()
        if not clean or not clean.isprintable():
            raise InvalidEntryError(
                f"tag {tag!r} is empty or has control characters; use words like 'outdoors'"
            )
        if len(clean) > MAX_TAG:
            raise InvalidEntryError(f"tag {clean[:20]!r}... is longer than {MAX_TAG} characters")
        if clean not in out:
            out.append(clean)
    if len(out) > MAX_TAGS:
        raise InvalidEntryError(f"{len(out)} tags on one entry; at most {MAX_TAGS}")
    return tuple(out)


def check_when(at: datetime | None, *, now: datetime | None = None) -> datetime:
    """An entry's time in UTC: now by default; a naive datetime is local time.

    Raises:
        InvalidEntryError: not a datetime, or in the future.
    """
    now = now or datetime.now(timezone.utc)
    if at is None:
        return now
    if not isinstance(at, datetime):
        raise InvalidEntryError(f"an entry's time must be a datetime, got {at!r}")
    try:
        at = at.astimezone(timezone.utc)  # naive: the system's local time
    except (OverflowError, OSError, ValueError) as e:
        raise InvalidEntryError(f"cannot use {at!r} as an entry's time ({e})") from None
    if at > now + timedelta(minutes=1):
        raise InvalidEntryError(
            f"{at.isoformat(timespec='minutes')} is in the future; entries record what was"
        )
    return at


def parse_day(text: str, *, today: date | None = None, allow_future: bool = False) -> date:
    """A day from 'YYYY-MM-DD', 'today', 'yesterday' or '-N' (N days ago).

    Raises:
        InvalidEntryError: an unknown date, or a future one unless allowed.
    """
    today = today or date.today()
    raw = str(text).strip().lower()
    day: date | None = None
    if raw == "today":
        day = today
    elif raw == "yesterday":
        day = today - timedelta(days=1)
    elif re.fullmatch(r"-\d{1,4}", raw):
        day = today - timedelta(days=int(raw[1:]))
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            day = None
    if day is None:
        raise InvalidEntryError(
            f"unknown date {text!r}; use YYYY-MM-DD (e.g. {today.isoformat()}), 'today', "
            "'yesterday' or -N for N days ago"
        )
    if not allow_future and day > today:
        raise InvalidEntryError(f"{day.isoformat()} is in the future; nothing is recorded there")
    return day


@dataclass(frozen=True, slots=True)
class Entry:
    """What the user wrote.

    Attributes:
        id: the entry's id in the journal.
        created_at: timezone-aware UTC time of the entry.
        mood: 1 (awful) to 5 (great).
        note: free text, or None.
        tags: tags/activities, sorted.
        device: the machine that wrote it, when known.
    """

    id: int
    created_at: datetime
    mood: int
    note: str | None
    tags: tuple[str, ...]
    device: str | None = None

    @property
    def label(self) -> str:
        """The mood as a word ("good")."""
        return mood_label(self.mood)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "mood": self.mood,
            "label": self.label,
            "note": self.note,
            "tags": list(self.tags),
            "device": self.device,
        }


@dataclass(frozen=True, slots=True)
class CaptureSession:
    """One run of a MoodStream that the journal recorded.

    Attributes:
        id: the session's id in the journal.
        source: the stream's source ("camera 0", "clip.mp4").
        device: the machine that recorded it, when known.
        started_at: timezone-aware UTC start.
        stopped_at: UTC stop, None if the stream never reported one (a crash).
        stop_reason: "end", "closed", "interrupted" or "error", when stopped.
        fps: the source's frame rate, when known.
        frames: frames the stream processed, when stopped.
    """

    id: int
    source: str
    device: str | None
    started_at: datetime
    stopped_at: datetime | None
    stop_reason: str | None
    fps: float | None
    frames: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "device": self.device,
            "started_at": self.started_at.isoformat(),
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "stop_reason": self.stop_reason,
            "fps": self.fps,
            "frames": self.frames,
        }


@dataclass(frozen=True, slots=True)
class MoodInterval:
    """Readings of one face (or the scene, ``face_id`` None) over one interval.

    Attributes:
        session_id: the capture session.
        face_id: the tracked face, or None for the scene (the stream's main face).
        started_at: UTC time of the interval's first reading.
        ended_at: UTC time of its last reading.
        seconds: time covered on the source's clock.
        frames: readings aggregated.
        dominant: the emotion with the highest mean score.
        scores: mean score of each emotion.
    """

    session_id: int
    face_id: int | None
    started_at: datetime
    ended_at: datetime
    seconds: float
    frames: int
    dominant: Emotion
    scores: Mapping[Emotion, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "face_id": self.face_id,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "seconds": self.seconds,
            "frames": self.frames,
            "dominant": self.dominant.value,
            "scores": {e.value: s for e, s in self.scores.items()},
        }
